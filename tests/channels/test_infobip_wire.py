"""The fast read of Infobip's plain delivery callbacks (channels/infobip_wire.py) gives
the general parser's reports, or leaves the body to it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tidings.channels.call_api import ApiRequest, ApiResult
from tidings.channels.infobip import InfobipProvider, InfobipSettings, read_reports
from tidings.channels.infobip_wire import ALL_ACCEPTED, plain_reports, read_answer
from tidings.channels.providers import CallbackRefused, Outgoing, Report, SendResult, Webhooks
from tidings.channels.standins.infobip import NO_ERROR, TO_HANDSET, TO_OPERATOR

DROP = object()  # a change that takes the field away


def standin_report(message_id: str, status: dict[str, Any]) -> dict[str, Any]:
    """A report as the bench's Infobip stand-in posts it (channels/standins/infobip.py)."""
    return {
        "bulkId": "b-1", "messageId": message_id, "to": "4915112345678",
        "sentAt": "2026-12-05T10:00:00.000+0000", "sender": "Bench",
        "doneAt": "2026-12-05T10:00:00.000+0000", "messageCount": 1,
        "price": {"pricePerMessage": 0.01, "currency": "EUR"},
        "status": status, "error": NO_ERROR, "mccMnc": "21901",
    }  # fmt: skip


NAMES = ["DELIVERED_TO_HANDSET", "DELIVERED_TO_OPERATOR", "PENDING_ENROUTE", "X", None, 7]
GROUPS = ["DELIVERED", "PENDING", "ACCEPTED", "UNDELIVERABLE", "EXPIRED", "REJECTED", "NEW", ""]
ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                st.text(max_size=3), st.just({}), st.just([]))  # fmt: skip
NUMBERS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), ODD)
PRICES = st.fixed_dictionaries(
    {},
    optional={
        "pricePerMessage": NUMBERS,
        "pricePerSecond": NUMBERS,
        "currency": st.one_of(st.sampled_from(["EUR", "UNKNOWN", "unknown"]), ODD),
    },
)
STATUSES = st.fixed_dictionaries(
    {"groupName": st.one_of(st.sampled_from(GROUPS), ODD)},
    optional={"name": st.sampled_from(NAMES), "description": st.text(max_size=5)},
)
# one change to a plain report: a field of another shape, an odd value, or none at all
CHANGES = st.one_of(
    st.tuples(st.just("status"), st.one_of(STATUSES, ODD)),
    st.tuples(st.just("price"), st.one_of(PRICES, ODD)),
    st.tuples(st.just("messageId"), st.one_of(st.sampled_from(["", "9"]), ODD)),
    st.tuples(st.sampled_from(["voiceCall", "dtmfCodes", "seenAt", "duration", "error"]), ODD),
    st.tuples(st.just("voiceCall"), st.just({"dtmfCodes": "12", "chargedDuration": 3})),
    st.tuples(st.just("error"), st.just({"name": "EC_ABSENT", "description": "absent"})),
    st.tuples(st.sampled_from(["status", "price", "messageId", "error"]), st.just(DROP)),
)


def changed(changes: list[tuple[str, Any]]) -> dict[str, Any]:
    report = standin_report("17", TO_HANDSET)
    for key, value in changes:
        if value is DROP:
            report.pop(key, None)
        else:
            report[key] = value
    return report


# documented values, each of which the fast read must word as the general parser does
PLAIN = st.fixed_dictionaries(
    {
        "messageId": st.sampled_from(["17", "m-1"]),
        "status": st.fixed_dictionaries(
            {"groupName": st.sampled_from(GROUPS)},
            optional={"name": st.sampled_from(NAMES[:5])},
        ),
    },
    optional={
        "price": st.fixed_dictionaries(
            {},
            optional={
                "pricePerMessage": st.floats(allow_nan=False, allow_infinity=False),
                "pricePerSecond": st.floats(allow_nan=False, allow_infinity=False),
                "currency": st.sampled_from(["EUR", "UNKNOWN", "unknown", "Unknown"]),
            },
        ),
        "dtmfCodes": st.sampled_from(["", "4"]),
        "duration": st.integers(0, 60),
        "voiceCall": st.just({"dtmfCodes": "12", "chargedDuration": 3}),
    },
)
RESULTS = st.one_of(PLAIN, st.lists(CHANGES, max_size=2).map(changed))
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"results": st.lists(RESULTS, max_size=2)},
        optional={"notificationType": st.sampled_from(["OPENED", None])},
    ),
    st.just({"results": "x"}),
    st.lists(st.integers(), max_size=2),
)


def general(body: bytes) -> list[Report] | str:
    try:
        return read_reports(body)
    except CallbackRefused as refused:
        return f"refused: {refused.field}"


def with_fields(**fields: Any) -> dict[str, Any]:
    return {"results": [{**standin_report("17", TO_HANDSET), **fields}]}


@settings(max_examples=600, deadline=None)
@given(BODIES)
# a price by the second without a call: the general parser bills the report's duration
@example(with_fields(price={"pricePerSecond": 0.01, "currency": "EUR"}, duration=12))
@example(with_fields(price={"pricePerMessage": 0.01, "currency": "unknown"}))
@example(with_fields(dtmfCodes="4"))
def test_the_fast_read_gives_the_general_parsers_reports_or_none(payload: Any) -> None:
    body = json.dumps(payload).encode()  # integers past 64 bits too

    fast = plain_reports(body)

    if fast is not None:
        assert fast == general(body)


def test_delivered_and_pending_reports_are_read_fast() -> None:
    body = orjson.dumps(
        {"results": [standin_report("41", TO_OPERATOR), standin_report("42", TO_HANDSET)]}
    )

    assert plain_reports(body) == [
        Report("41", "pending", price=0.01, currency="EUR"),
        Report("42", "delivered", price=0.01, currency="EUR"),
    ]


def test_a_failure_a_seen_report_and_a_tracking_event_go_to_the_general_parser() -> None:
    failed = standin_report("43", {"groupName": "UNDELIVERABLE", "name": "X"})
    seen = {"messageId": "44", "seenAt": "2026-12-05T10:00:00.000+0000"}

    assert plain_reports(orjson.dumps({"results": [failed]})) is None
    assert plain_reports(orjson.dumps({"results": [seen]})) is None
    assert plain_reports(orjson.dumps({"notificationType": "OPENED", "results": []})) is None
    assert plain_reports(b"not json") is None


# --- the answer to a batch ---


class Answering:
    """An `ApiClient` that answers every request 200 with `body`, read as `CallApi`
    reads it (the request's fast `read` first, unless `fast` is off)."""

    def __init__(self, body: bytes, *, fast: bool) -> None:
        self.body, self.fast = body, fast

    async def call(self, request: ApiRequest, *, allow_private: bool) -> ApiResult:
        read = request.read(self.body) if self.fast and request.read is not None else None
        body = read if read is not None else orjson.loads(self.body)
        return ApiResult("success", 200, {"status": 200, "body": body, "headers": {}})

    async def aclose(self) -> None:
        """Nothing to close."""


async def results_of(body: bytes, batch: list[Outgoing], *, fast: bool) -> list[SendResult]:
    settings = InfobipSettings(base_url="https://xyz.api.infobip.com", api_key="k")
    provider = InfobipProvider(settings, Answering(body, fast=fast), allow_private=False)
    return await provider.send(batch, Webhooks("https://t.example/d", "https://t.example/i"))


BATCH = [Outgoing(str(i), "sms", f"+3859100000{i}", "Shop", {"text": "Hi"}) for i in range(3)]
SAID = st.one_of(
    st.fixed_dictionaries(
        {"groupName": st.sampled_from(GROUPS)},
        optional={"name": st.sampled_from([*NAMES[:5], "REJECTED_DUPLICATE_MESSAGE_ID"])},
    ),
    ODD,
)
ANSWERS = st.fixed_dictionaries(
    {
        "messages": st.lists(
            st.fixed_dictionaries(
                {"messageId": st.one_of(st.sampled_from(["0", "1", "2", "9"]), ODD)},
                optional={"status": SAID},
            ),
            max_size=4,
        )
    },
    optional={"bulkId": st.just("b-1")},
)


@settings(max_examples=300, deadline=None)
@given(ANSWERS)
def test_an_answer_read_fast_gives_the_general_readings_results(answer: Any) -> None:
    body = json.dumps(answer).encode()

    fast = asyncio.run(results_of(body, BATCH, fast=True))

    assert fast == asyncio.run(results_of(body, BATCH, fast=False))


def test_an_answer_that_names_no_failure_takes_every_message() -> None:
    said = {"groupName": "PENDING", "name": "PENDING_ACCEPTED"}
    duplicate = {"groupName": "REJECTED", "name": "REJECTED_DUPLICATE_MESSAGE_ID"}
    refused = {"groupName": "REJECTED", "name": "REJECTED_DESTINATION"}

    def answer(*statuses: dict[str, str]) -> bytes:
        messages = [{"messageId": str(i), "status": s} for i, s in enumerate(statuses)]
        return orjson.dumps({"bulkId": "b", "messages": messages})

    assert read_answer(answer(said, duplicate)) is ALL_ACCEPTED
    assert read_answer(answer(said, refused)) is None
    assert read_answer(orjson.dumps({"messageId": "0", "status": said})) is None  # one, flat
