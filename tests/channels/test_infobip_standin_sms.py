"""The Infobip stand-in's fast read of plain SMS requests (standins/infobip_sms.py) answers,
keeps and reports exactly as its general checks do, or leaves the request to them."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.channels.test_infobip_standin import report_receiver
from tidings.channels.standins.infobip import DEFAULT_KEY, InfobipStandin, _sms
from tidings.channels.standins.infobip_sms import ENCODE

PATH = "/sms/3/messages"
ODD: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.integers(0, 3), st.just({}), st.just([]), st.just(True)
)
TEXTS = st.one_of(st.sampled_from(["Hi", "", "  ", "Hi\n", "x" * 4096, "x" * 4097]), ODD)
TOS = st.one_of(
    st.sampled_from(["385911234567", "+385911234568", "abc", "", " ", "1" * 15, "1" * 65]), ODD
)
IDS = st.one_of(st.sampled_from(["m1", "id-1", "x" * 200, "x" * 201]), ODD)
URLS = st.one_of(
    st.sampled_from(
        ["http://a.test/r", "https://b.test/r", "ftp://x", "", "http://a/" + "x" * 2040]
    ),
    ODD,
)
DROP = object()  # a change that takes the field away
MESSAGE = st.integers(0, 2)
EXTRA = [
    ("bogus",), ("from",), ("options",), ("destinations", 0, "bogus"),
    ("destinations", 0, "networkId"), ("content", "bogus"), ("content", "language"),
    ("webhooks", "bogus"), ("webhooks", "seen"), ("webhooks", "delivery", "bogus"),
    ("webhooks", "delivery", "notify"), ("webhooks", "callbackData"),
]  # fmt: skip
TWO = [{"to": "385911234560", "messageId": "a"}, {"to": "385911234561"}]
# one change to a plain request: (which message, where in it, the new value); message -1
# is the body itself
CHANGES = st.one_of(
    st.tuples(MESSAGE, st.just(("content", "text")), TEXTS | st.just(DROP)),
    st.tuples(MESSAGE, st.just(("destinations", 0, "to")), TOS | st.just(DROP)),
    st.tuples(MESSAGE, st.just(("destinations", 0, "messageId")), IDS | st.just(DROP)),
    st.tuples(MESSAGE, st.just(("destinations",)), ODD | st.sampled_from([DROP, TWO])),
    st.tuples(MESSAGE, st.just(("sender",)), st.sampled_from(["", "x" * 64, "x" * 65, DROP]) | ODD),
    st.tuples(MESSAGE, st.just(("webhooks",)), ODD | st.just(DROP)),
    st.tuples(MESSAGE, st.just(("webhooks", "delivery")), ODD | st.just(DROP)),
    st.tuples(MESSAGE, st.just(("webhooks", "delivery", "url")), URLS | st.just(DROP)),
    st.tuples(
        MESSAGE,
        st.just(("webhooks", "contentType")),
        st.sampled_from(["application/xml", "text/x", DROP]) | ODD,
    ),
    st.tuples(MESSAGE, st.just(("content",)), ODD | st.just(DROP)),
    st.tuples(MESSAGE, st.sampled_from(EXTRA), st.sampled_from([1, "x", {"url": "http://a/"}])),
    st.tuples(st.just(-1), st.sampled_from([("messages",), ("bogus",), ("options",)]), ODD),
)


def _plain_message(to: str, message_id: str, url: str = "http://a.test/r") -> dict[str, Any]:
    return {
        "sender": "Shop",
        "destinations": [{"to": to, "messageId": message_id}],
        "content": {"text": "Hi"},
        "webhooks": {"delivery": {"url": url}, "contentType": "application/json"},
    }


def _changed(count: int, changes: list[tuple[int, tuple[Any, ...], Any]]) -> dict[str, Any]:
    """A plain request of `count` messages with these changes made (one whose place is
    gone with an earlier change is left out)."""
    body: dict[str, Any] = {
        "messages": [_plain_message(f"38591123456{i}", f"id-{i}") for i in range(count)]
    }
    for index, where, value in changes:
        if index >= count:
            continue
        target: Any = body
        try:
            for step in ((), ("messages", index))[index >= 0] + where[:-1]:
                target = target[step]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(target, dict):
            continue
        if value is DROP:
            target.pop(where[-1], None)
        else:
            target[where[-1]] = copy.deepcopy(value)  # hypothesis hands out one {} each time
    return body


def _normal(value: Any, generated: dict[str, str], bulk: str | None) -> Any:
    """The same output with what is drawn at random (the bulkId, messageIds the stand-in
    made up, the instants) named by their order of appearance."""
    if isinstance(value, dict):
        return {k: _normal(v, generated, bulk) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v, generated, bulk) for v in value]
    if isinstance(value, str):
        if value == bulk:
            return "BULK"
        if len(value) == 36 and value.count("-") == 4:  # a uuid4 the stand-in made up
            return generated.setdefault(value, f"G{len(generated)}")
        if value.endswith("+0000"):
            return "NOW"
    return value


async def _run(fast: bool, bodies: list[bytes]) -> list[Any]:
    """What a stand-in (its fast read on or off) answers, keeps and would report for
    each body in turn, normalized."""
    standin = InfobipStandin(report_batch=1000)
    out: list[Any] = []
    for raw in bodies:
        answer = standin._plain_sms(PATH, raw) if fast else None
        if answer is None:
            answer = standin._accept(PATH, "sms", _sms, orjson.loads(raw))
        assert isinstance(answer.body, bytes)
        parsed = json.loads(answer.body)
        bulk = parsed.get("bulkId") if isinstance(parsed, dict) else None
        reports = [(url, json.loads(ENCODE(batch))) for _, _, url, batch in sorted(standin._heap)]
        standin._heap.clear()
        generated: dict[str, str] = {}
        out.append(
            _normal(
                {
                    "status": answer.status,
                    "contentType": answer.content_type,
                    "answer": parsed,
                    "kept": standin.messages[:],
                    "requests": standin.requests[:],
                    "duplicates": standin.duplicates,
                    "reports": reports,
                },
                generated,
                bulk,
            )
        )
    return out


def _same(bodies: list[bytes]) -> None:
    general = asyncio.run(_run(False, bodies))
    fast = asyncio.run(_run(True, bodies))
    assert fast == general


@settings(max_examples=1500, deadline=None)
@given(st.integers(1, 3), st.lists(CHANGES, max_size=2), st.booleans())
@example(1, [], True)
@example(2, [(1, ("destinations", 0, "messageId"), "id-0")], False)
@example(1, [(0, ("content", "text"), "  ")], False)
@example(1, [(0, ("destinations", 0, "messageId"), "m1")], True)
@example(1, [(0, ("content", "bogus"), 1)], False)
def test_the_fast_read_answers_keeps_and_reports_as_the_general_checks(
    count: int, changes: list[tuple[int, tuple[Any, ...], Any]], seen_first: bool
) -> None:
    """A plain request with a change or two, after a plain request that made `m1` seen or
    not: both paths answer the same (status, body), keep the same messages and queue the
    same reports."""
    first = [orjson.dumps({"messages": [_plain_message("385911234569", "m1")]})]
    _same([*(first if seen_first else []), orjson.dumps(_changed(count, changes))])


def test_knobs_that_change_the_fate_leave_requests_to_the_general_checks() -> None:
    body = orjson.dumps({"messages": [_plain_message("385911234567", "m1")]})

    async def fast_answer(**knobs: Any) -> bool:
        standin = InfobipStandin(**knobs)
        return standin._plain_sms(PATH, body) is not None

    assert asyncio.run(fast_answer())
    assert not asyncio.run(fast_answer(operator_first=True))
    assert not asyncio.run(fast_answer(fates={"sms": "failed"}))
    assert not asyncio.run(fast_answer(number_fates={"385911234567": "none"}))
    assert not asyncio.run(fast_answer(reject_numbers=frozenset({"1"})))


@pytest.mark.anyio
async def test_a_bench_batch_over_http_is_answered_and_reported_by_the_fast_read() -> None:
    """Over HTTP: the answer is Infobip's JSON and the reports reach the webhook."""
    headers = {"Content-Type": "application/json", "Authorization": f"App {DEFAULT_KEY}"}
    async with (
        report_receiver() as (url, received),
        InfobipStandin() as standin,
        aiohttp.ClientSession() as session,
    ):
        body = {
            "messages": [_plain_message(f"3859112345{i:02d}", f"id-{i}", url) for i in range(50)]
        }
        async with session.post(standin.url + PATH, data=orjson.dumps(body), headers=headers) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "application/json; charset=utf-8"
            answer = await r.json()
        async with asyncio.timeout(10):
            await standin.drain()

    assert [m["messageId"] for m in answer["messages"]] == [f"id-{i}" for i in range(50)]
    assert {m["status"]["name"] for m in answer["messages"]} == {"PENDING_ACCEPTED"}
    assert sorted(r["messageId"] for r in received) == sorted(f"id-{i}" for i in range(50))
    assert {r["status"]["name"] for r in received} == {"DELIVERED_TO_HANDSET"}
    assert {r["sender"] for r in received} == {"Shop"}
    assert len(standin.messages) == 50


def test_without_keeping_messages_a_seen_id_is_still_a_duplicate() -> None:
    """`keep=False` (the bench's): nothing in `messages`, yet a messageId taken before is
    answered as a duplicate and not reported again."""
    answered: list[str] = []

    async def run() -> InfobipStandin:
        standin = InfobipStandin(keep=False, reject_duplicates=True)
        for to in ("385911234567", "385911234568"):
            body = {"messages": [_plain_message(to, "m1")]}
            answer = standin._plain_sms(PATH, orjson.dumps(body))
            if answer is None:
                answer = standin._accept(PATH, "sms", _sms, body)
            assert answer.status == 200
            assert isinstance(answer.body, bytes)
            answered.append(json.loads(answer.body)["messages"][0]["status"]["name"])
        return standin

    standin = asyncio.run(run())

    assert standin.messages == []
    assert answered == ["PENDING_ACCEPTED", "REJECTED_DUPLICATE_MESSAGE_ID"]
    assert standin.duplicates == 1
    assert sum(len(batch) for *_, batch in standin._heap) == 1
