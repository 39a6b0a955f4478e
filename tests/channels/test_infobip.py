"""The Infobip provider against the loopback Infobip stand-in: what goes out on each channel,
how answers become results, how reports and inbound messages are read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from tidings.channels.call_api import CallApi
from tidings.channels.infobip import (
    SECRETS,
    InfobipProvider,
    InfobipSettings,
    retry_after,
)
from tidings.channels.providers import (
    Callback,
    CallbackRefused,
    Inbound,
    Outgoing,
    Report,
    Webhooks,
)
from tidings.channels.standins.infobip import InfobipStandin

pytestmark = pytest.mark.anyio

KEY = "ib-secret-key-0123456789"
Handler = Callable[[web.Request], Awaitable[web.Response]]


class Receiver:
    """A loopback receiver of the stand-in's callbacks: it keeps each request as the webhook
    would see it (a `Callback`) and can answer 500 to the first few."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.delivery: list[Callback] = []
        self.inbound: list[Callback] = []
        self.fail_first = fail_first
        self.refused = 0
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def webhooks(self) -> Webhooks:
        return Webhooks(f"{self.url}/delivery", f"{self.url}/inbound")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/delivery", self._take(self.delivery))
        app.router.add_post("/inbound", self._take(self.inbound))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _take(self, into: list[Callback]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            if self.fail_first > 0:
                self.fail_first -= 1
                self.refused += 1
                return web.Response(status=500)
            headers = {name.lower(): value for name, value in request.headers.items()}
            into.append(Callback(str(request.url), headers, body, dict(request.query)))
            self.arrived.set()
            return web.Response(status=200)

        return handle


@dataclass
class Rig:
    standin: InfobipStandin
    receiver: Receiver
    provider: InfobipProvider

    @property
    def webhooks(self) -> Webhooks:
        return self.receiver.webhooks

    async def reports(self, count: int) -> list[Report]:
        """The parsed reports once `count` have arrived."""
        async with asyncio.timeout(5):
            while True:
                reports = [
                    r for c in self.receiver.delivery for r in self.provider.delivery_reports(c)
                ]
                if len(reports) >= count:
                    return reports
                self.receiver.arrived.clear()
                await self.receiver.arrived.wait()


@asynccontextmanager
async def rig(*, key: str = KEY, fail_first: int = 0, **standin: Any) -> AsyncIterator[Rig]:
    async with (
        InfobipStandin(api_key=KEY, **standin) as stand,
        Receiver(fail_first=fail_first) as receiver,
        CallApi(allow_private=True) as api,
    ):
        settings = InfobipSettings(base_url=stand.url, api_key=key)
        yield Rig(stand, receiver, InfobipProvider(settings, api, allow_private=True))


def sms(i: int, to: str | None = None, text: str = "Hello") -> Outgoing:
    return Outgoing(f"out-{i}", "sms", to or f"+38591{i:07d}", "Shop", {"text": text})


def callback(payload: object, content_type: str = "application/json") -> Callback:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Callback(
        "https://tidings.example/api/v1/webhooks/t/delivery", {"content-type": content_type}, body
    )


# --- settings ---


def test_settings_take_camel_case_and_keep_the_key_secret() -> None:
    settings = InfobipSettings.model_validate(
        {"baseUrl": "https://xyz.api.infobip.com/", "apiKey": KEY}
    )
    assert settings.base_url == "https://xyz.api.infobip.com"
    assert KEY not in repr(settings)
    assert frozenset({"apiKey"}) == SECRETS
    for bad in (
        {"baseUrl": "ftp://xyz", "apiKey": KEY},
        {"baseUrl": "https://xyz.api.infobip.com"},
        {"baseUrl": "https://xyz.api.infobip.com", "apiKey": ""},
        {"baseUrl": "https://x", "apiKey": KEY, "other": 1},
    ):
        with pytest.raises(ValidationError):
            InfobipSettings.model_validate(bad)


# --- sending ---


async def test_many_sms_go_in_one_request_in_infobips_v3_shape() -> None:
    async with rig() as r:
        batch = [sms(i) for i in range(250)]
        results = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in results] == ["accepted"] * 250
        assert [res.id for res in results] == [m.id for m in batch]
        assert r.standin.requests == [("/sms/3/messages", 250)]
        first = r.standin.messages[0]
        assert first == {
            "channel": "sms",
            "to": "385910000000",
            "from": "Shop",
            "content": {"text": "Hello"},
            "messageId": "out-0",
            "path": "/sms/3/messages",
        }
        reports = await r.reports(250)
        assert {rep.message_id for rep in reports} == {m.id for m in batch}
        assert all(rep.status == "delivered" for rep in reports)
        assert (reports[0].price, reports[0].currency) == (0.01, "EUR")
        # Reports come in buckets of 100, as Infobip posts them.
        assert [len(json.loads(c.body)["results"]) for c in r.receiver.delivery] == [100, 100, 50]


async def test_a_message_rejected_inside_a_batch_fails_alone() -> None:
    async with rig(reject_numbers=frozenset({"385910000001"})) as r:
        results = await r.provider.send([sms(0), sms(1), sms(2)], r.webhooks)

        assert [res.status for res in results] == ["accepted", "failed", "accepted"]
        assert results[1].reason == "REJECTED_DESTINATION: Invalid destination address"
        assert [m["messageId"] for m in r.standin.messages] == ["out-0", "out-2"]


async def test_429_is_retried_after_the_answers_retry_after() -> None:
    async with rig() as r:
        r.standin.fail_next(1, 429, retry_after=7)
        results = await r.provider.send([sms(0), sms(1)], r.webhooks)

        assert [(res.status, res.retry_after) for res in results] == [("retry", 7.0)] * 2
        assert "Too many requests" in (results[0].reason or "")
        assert r.standin.messages == []
        # The dispatcher's next try goes through.
        again = await r.provider.send([sms(0), sms(1)], r.webhooks)
        assert [res.status for res in again] == ["accepted", "accepted"]


async def test_500_is_retried() -> None:
    async with rig() as r:
        r.standin.fail_next(2, 500)
        first = await r.provider.send([sms(0)], r.webhooks)
        second = await r.provider.send([sms(0)], r.webhooks)
        third = await r.provider.send([sms(0)], r.webhooks)

        assert first[0].status == second[0].status == "retry"
        assert first[0].retry_after is None
        assert first[0].reason is not None
        assert first[0].reason.startswith("HTTP 500: Something went wrong")
        assert third[0].status == "accepted"


async def test_a_wrong_key_fails_with_infobips_words_and_never_the_key() -> None:
    async with rig(key="not-the-key-" + KEY) as r:
        results = await r.provider.send([sms(0)], r.webhooks)

        assert results[0].status == "failed"
        assert results[0].reason == "HTTP 401: Invalid login details"
        assert KEY not in (results[0].reason or "")


async def test_a_bad_request_fails_naming_the_field() -> None:
    async with rig() as r:
        # Infobip requires a Viber sender; the provider leaves an empty one out.
        message = Outgoing("v-1", "viber", "+385911111111", "", {"text": "Hi"})
        results = await r.provider.send([message], r.webhooks)

        assert results[0].status == "failed"
        assert results[0].reason == ("HTTP 400: Bad request (messages[0].sender: must not be null)")


async def test_an_unreachable_provider_is_retried(closed_port: int) -> None:
    async with CallApi(allow_private=True) as api:
        settings = InfobipSettings(base_url=f"http://127.0.0.1:{closed_port}", api_key=KEY)
        provider = InfobipProvider(settings, api, allow_private=True)
        results = await provider.send([sms(0)], Webhooks("http://x/d", "http://x/i"))

    assert results[0].status == "retry"
    assert "connection refused" in (results[0].reason or "")


async def test_a_private_address_is_refused_unless_allowed() -> None:
    async with CallApi() as api:
        settings = InfobipSettings(base_url="http://127.0.0.1:9", api_key=KEY)
        provider = InfobipProvider(settings, api, allow_private=False)
        results = await provider.send([sms(0)], Webhooks("http://x/d", "http://x/i"))

    assert results[0].status == "failed"
    assert "loopback" in (results[0].reason or "")


async def test_what_infobip_cannot_take_fails_without_a_request() -> None:
    async with rig() as r:
        batch = [
            Outgoing("x-1", "push", "+385911111111", "Shop", {"text": "Hi"}),
            Outgoing("x-2", "sms", "+385911111111", "Shop", {}),
            Outgoing("x-3", "email", "a@example.com", "shop@example.com", {"subject": "S"}),
        ]
        results = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in results] == ["failed"] * 3
        assert results[0].reason == "infobip does not send 'push' messages"
        assert results[1].reason == "sms: text is missing"
        assert results[2].reason == "email: the message has neither html nor text"
        assert r.standin.requests == []


async def test_sending_a_batch_twice_keeps_one_of_each() -> None:
    async with rig() as r:
        batch = [sms(i) for i in range(5)]
        first = await r.provider.send(batch, r.webhooks)
        second = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in first + second] == ["accepted"] * 10
        assert sorted(m["messageId"] for m in r.standin.messages) == [m.id for m in batch]
        await r.standin.drain()
        assert r.standin.reports_posted == 5


async def test_a_duplicate_rejected_by_id_counts_as_accepted() -> None:
    async with rig(reject_duplicates=True) as r:
        await r.provider.send([sms(0)], r.webhooks)
        again = await r.provider.send([sms(0)], r.webhooks)

        assert again[0].status == "accepted"  # REJECTED_DUPLICATE_MESSAGE_ID: already there
        assert len(r.standin.messages) == 1


async def test_whatsapp_text_and_template_shapes() -> None:
    async with rig() as r:
        batch = [
            Outgoing("w-1", "whatsapp", "+385911111111", "+385100200", {"text": "Hi"}),
            Outgoing("w-2", "whatsapp", "+385922222222", "+385100200", {"text": "Hello"}),
            Outgoing(
                "w-3",
                "whatsapp",
                "+385933333333",
                "+385100200",
                {"template": {"name": "order_ready", "language": "hr", "params": ["Ana", "42"]}},
            ),
            Outgoing(
                "w-4",
                "whatsapp",
                "+385944444444",
                "+385100200",
                {"template": {"name": "order_ready", "language": "hr", "params": ["Ivo", "7"]}},
            ),
        ]
        results = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in results] == ["accepted"] * 4
        assert sorted(r.standin.requests) == [
            ("/whatsapp/1/message/template", 2),
            ("/whatsapp/1/message/text", 1),
            ("/whatsapp/1/message/text", 1),
        ]
        kept = {m["messageId"]: m for m in r.standin.messages}
        assert kept["w-1"]["content"] == {"text": "Hi"}
        assert (kept["w-1"]["from"], kept["w-1"]["to"]) == ("385100200", "385911111111")
        assert kept["w-3"]["content"] == {
            "templateName": "order_ready",
            "language": "hr",
            "placeholders": ["Ana", "42"],
        }
        assert {rep.message_id for rep in await r.reports(4)} == {"w-1", "w-2", "w-3", "w-4"}


async def test_viber_text_image_and_button() -> None:
    async with rig() as r:
        button = {"text": "Open", "url": "https://shop.example/o/1"}
        batch = [
            Outgoing("v-1", "viber", "+385911111111", "Shop", {"text": "Hi", "button": button}),
            Outgoing(
                "v-2",
                "viber",
                "+385922222222",
                "Shop",
                {"image": "https://shop.example/i.png", "text": "Look"},
            ),
        ]
        results = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in results] == ["accepted", "accepted"]
        assert r.standin.requests == [("/viber/2/messages", 2)]
        kept = {m["messageId"]: m["content"] for m in r.standin.messages}
        assert kept["v-1"] == {
            "type": "TEXT",
            "text": "Hi",
            "button": {"title": "Open", "action": "https://shop.example/o/1"},
        }
        assert kept["v-2"] == {
            "type": "IMAGE",
            "mediaUrl": "https://shop.example/i.png",
            "text": "Look",
        }


async def test_a_call_says_the_text_collects_digits_and_reports_them() -> None:
    async with rig(number_fates={"385922222222": "failed"}) as r:
        collect = {"maxDigits": 4, "timeout": "PT8S"}
        batch = [
            Outgoing(
                "c-1", "voice", "+385911111111", "+38512345", {"say": "Press", "collect": collect}
            ),
            Outgoing("c-2", "voice", "+385922222222", "+38512345", {"say": "Hi", "language": "hr"}),
            Outgoing("c-3", "voice", "+385933333333", "+38512345", {"say": "Bye"}),
        ]
        results = await r.provider.send(batch, r.webhooks)

        assert [res.status for res in results] == ["accepted"] * 3
        assert r.standin.requests == [("/tts/3/advanced", 3)]
        kept = {m["messageId"]: m["content"] for m in r.standin.messages}
        assert kept["c-1"] == {"text": "Press", "language": "en", "maxDtmf": 4, "dtmfTimeout": 8}
        assert kept["c-2"] == {"text": "Hi", "language": "hr", "maxDtmf": None, "dtmfTimeout": None}
        reports = {rep.message_id: rep for rep in await r.reports(3)}
        assert (reports["c-1"].status, reports["c-1"].digits) == ("delivered", "1234")
        assert reports["c-1"].price == pytest.approx(0.12)  # 12 s at 0.01 per second
        assert reports["c-2"].status == "failed"
        assert reports["c-2"].reason == "UNDELIVERABLE_NOT_DELIVERED: The call was not answered"
        assert (reports["c-3"].status, reports["c-3"].digits) == ("delivered", None)


async def test_an_email_goes_as_a_multipart_form_with_unsubscribe_headers() -> None:
    async with rig() as r:
        message = Outgoing(
            "e-1",
            "email",
            "ana@example.com",
            "Shop <shop@example.com>",
            {
                "subject": "Čestitamo, Ana!",
                "html": "<p>Pozdrav 👋</p>",
                "text": "Pozdrav",
                "replyTo": "help@example.com",
            },
            unsubscribe_url="https://tidings.example/u/abc",
        )
        results = await r.provider.send([message], r.webhooks)

        assert results[0].status == "accepted"
        (kept,) = r.standin.messages
        assert (kept["to"], kept["from"], kept["messageId"]) == (
            "ana@example.com",
            "Shop <shop@example.com>",
            "e-1",
        )
        assert kept["content"] == {
            "subject": "Čestitamo, Ana!",
            "html": "<p>Pozdrav 👋</p>",
            "text": "Pozdrav",
            "replyTo": "help@example.com",
            "headers": {
                "List-Unsubscribe": "<https://tidings.example/u/abc>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            "track": "false",
        }
        (report,) = await r.reports(1)
        assert (report.message_id, report.status) == ("e-1", "delivered")


async def test_operator_first_reports_pending_then_delivered() -> None:
    async with rig(operator_first=True) as r:
        await r.provider.send([sms(0)], r.webhooks)

        reports = await r.reports(2)
        assert [rep.status for rep in reports] == ["pending", "delivered"]


async def test_fates_per_channel_and_number() -> None:
    async with rig(fates={"sms": "none"}, number_fates={"+385910000001": "failed"}) as r:
        await r.provider.send([sms(0), sms(1), sms(2)], r.webhooks)
        await r.standin.drain()

        reports = await r.reports(1)
        assert [(rep.message_id, rep.status) for rep in reports] == [("out-1", "failed")]
        assert reports[0].reason == "UNDELIVERABLE_NOT_DELIVERED: Absent Subscriber"


async def test_the_standin_posts_a_report_again_until_it_is_taken() -> None:
    async with rig(fail_first=2, report_retry_delay=0.01) as r:
        await r.provider.send([sms(0)], r.webhooks)

        (report,) = await r.reports(1)
        assert report.status == "delivered"
        assert r.receiver.refused == 2
        await r.standin.drain()
        assert (r.standin.report_failures, r.standin.reports_posted) == (2, 1)


async def test_reports_wait_for_the_delay() -> None:
    async with rig(report_delay=0.3) as r:
        await r.provider.send([sms(0)], r.webhooks)
        await asyncio.sleep(0.1)
        assert r.receiver.delivery == []
        assert len(await r.reports(1)) == 1


# --- delivery reports: Infobip's documented examples, and what is refused ---

# "Receive outbound SMS message report", infobip.com/docs/api (first result of its sample).
SMS_REPORT = {
    "results": [
        {
            "bulkId": "BULK-ID-123-xyz",
            "messageId": "MESSAGE-ID-123-xyz",
            "to": "41793026727",
            "sentAt": "2019-11-09T16:00:00.000+0000",
            "doneAt": "2019-11-09T16:00:00.000+0000",
            "smsCount": 1,
            "callbackData": "callbackData",
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": {
                "groupId": 3,
                "groupName": "DELIVERED",
                "id": 5,
                "name": "DELIVERED_TO_HANDSET",
                "description": "Message delivered to handset",
            },
            "error": {
                "groupId": 0,
                "groupName": "Ok",
                "id": 0,
                "name": "NO_ERROR",
                "description": "No Error",
                "permanent": False,
            },
            "entityId": "promotional-traffic-entity",
            "applicationId": "marketing-automation-application",
        }
    ]
}

# "Receive WhatsApp delivery reports", infobip.com/docs/api.
WHATSAPP_REPORT = {
    "results": [
        {
            "bulkId": "",
            "price": {"pricePerMessage": 0.21, "currency": "BRL"},
            "status": {
                "id": 5,
                "groupId": 3,
                "groupName": "DELIVERED",
                "name": "DELIVERED_TO_HANDSET",
                "description": "Message delivered to handset",
            },
            "error": {
                "id": 0,
                "name": "NO_ERROR",
                "description": "No Error",
                "groupId": 0,
                "groupName": "OK",
                "permanent": False,
            },
            "messageId": "fb469d73-d362-463f-b30f-1e959b53badc",
            "doneAt": "2019-04-09T16:01:56.494-0300",
            "messageCount": 1,
            "sentAt": "2019-04-09T16:00:58.647-0300",
            "to": "41793026731",
        }
    ]
}

# "Get Voice Delivery Reports" (version 2, the same objects as the webhook), infobip.com/docs.
VOICE_REPORT = {
    "results": [
        {
            "bulkId": "8c20f086-d82b-48cc-b2b3-3ca5f7aca9fb",
            "messageId": "ff4804ef-6ab6-4abd-984d-ab3b1387e852",
            "from": "385333444",
            "to": "385981178",
            "sentAt": "2018-06-25T13:38:14.730+0000",
            "mccMnc": "21901",
            "callbackData": "DLR callback data",
            "voiceCall": {
                "feature": "Voice-message",
                "startTime": "2018-06-25T13:38:15.000+0000",
                "answerTime": "2018-06-25T13:38:25.000+0000",
                "endTime": "2018-06-25T13:38:28.316+0000",
                "duration": 10,
                "chargedDuration": 10,
                "fileDuration": 19.3,
                "dtmfCodes": "1",
            },
            "price": {"pricePerSecond": 0.01, "currency": "EUR"},
            "status": {
                "id": 5,
                "groupId": 3,
                "groupName": "DELIVERED",
                "name": "DELIVERED_TO_HANDSET",
                "description": "Message delivered to handset",
            },
            "error": {
                "groupId": 0,
                "groupName": "OK",
                "id": 5000,
                "name": "VOICE_ANSWERED",
                "description": "Call answered by human",
                "permanent": True,
            },
        }
    ]
}


def status(group: str, name: str, description: str) -> dict[str, object]:
    return {"groupId": 0, "groupName": group, "id": 0, "name": name, "description": description}


def provider() -> InfobipProvider:
    settings = InfobipSettings(base_url="https://xyz.api.infobip.com", api_key=KEY)
    return InfobipProvider(settings, CallApi(), allow_private=False)


def test_documented_reports_are_read() -> None:
    p = provider()

    assert p.delivery_reports(callback(SMS_REPORT)) == [
        Report("MESSAGE-ID-123-xyz", "delivered", price=0.01, currency="EUR")
    ]
    assert p.delivery_reports(callback(WHATSAPP_REPORT)) == [
        Report("fb469d73-d362-463f-b30f-1e959b53badc", "delivered", price=0.21, currency="BRL")
    ]
    (voice,) = p.delivery_reports(callback(VOICE_REPORT))
    assert (voice.status, voice.digits, voice.currency) == ("delivered", "1", "EUR")
    assert voice.price == pytest.approx(0.1)


def test_statuses_map_to_pending_delivered_and_failed() -> None:
    cases = [
        (status("DELIVERED", "DELIVERED_TO_OPERATOR", "Message delivered to operator"), "pending"),
        (status("PENDING", "PENDING_ENROUTE", "Message sent to next instance"), "pending"),
        (status("ACCEPTED", "PENDING_ACCEPTED", "Accepted"), "pending"),
        (status("DELIVERED", "DELIVERED_TO_HANDSET", "Message delivered to handset"), "delivered"),
        (status("UNDELIVERABLE", "UNDELIVERABLE_NOT_DELIVERED", "Not delivered"), "failed"),
        (status("EXPIRED", "EXPIRED_EXPIRED", "Message expired"), "failed"),
        (status("REJECTED", "REJECTED_NETWORK", "Network is forbidden"), "failed"),
        (status("SOMETHING_NEW", "SOMETHING_NEW", "?"), "pending"),
    ]
    payload = {"results": [{"messageId": f"m{i}", "status": s} for i, (s, _) in enumerate(cases)]}

    reports = provider().delivery_reports(callback(payload))

    assert [rep.status for rep in reports] == [want for _, want in cases]
    assert reports[5].reason == "EXPIRED_EXPIRED: Message expired"
    assert all(rep.price is None for rep in reports)


def test_seen_and_email_tracking_reports() -> None:
    p = provider()
    seen = {"results": [{"messageId": "w-1", "from": "3859", "to": "3851", "seenAt": "2024"}]}
    assert p.delivery_reports(callback(seen)) == [Report("w-1", "seen")]
    opened = {"notificationType": "OPENED", "messageId": "e-1", "recipient": "a@b.c"}
    assert p.delivery_reports(callback(opened)) == [Report("e-1", "seen")]
    clicked = {"notificationType": "CLICKED", "messageId": "e-1", "url": "https://x.example"}
    assert p.delivery_reports(callback(clicked)) == [
        Report("e-1", "clicked", url="https://x.example")
    ]
    assert p.delivery_reports(callback({"notificationType": "COMPLAINED", "messageId": "e"})) == [
        Report("e", "unsubscribed", reason="COMPLAINED")
    ]


def test_a_price_in_an_unknown_currency_is_no_price() -> None:
    payload = {
        "results": [
            {
                "messageId": "e-1",
                "price": {"pricePerMessage": 0, "currency": "UNKNOWN"},
                "status": status("DELIVERED", "DELIVERED_TO_HANDSET", "delivered"),
            }
        ]
    }
    assert provider().delivery_reports(callback(payload)) == [Report("e-1", "delivered")]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        ({"reports": []}, "results"),
        ({"results": {}}, "results"),
        ({"results": ["x"]}, "results[0]"),
        ({"results": [{"status": {"groupName": "DELIVERED"}}]}, "results[0].messageId"),
        ({"results": [{"messageId": 7, "status": {}}]}, "results[0].messageId"),
        ({"results": [{"messageId": "m"}]}, "results[0].status"),
        ({"results": [{"messageId": "m", "status": {"name": "X"}}]}, "results[0].status.groupName"),
        (
            {
                "results": [
                    {
                        "messageId": "m",
                        "status": {"groupName": "DELIVERED"},
                        "price": {"pricePerMessage": "0.01", "currency": "EUR"},
                    }
                ]
            },
            "results[0].price.pricePerMessage",
        ),
        (
            {
                "results": [
                    {"messageId": "m", "status": {"groupName": "DELIVERED"}, "voiceCall": "x"}
                ]
            },
            "results[0].voiceCall",
        ),
        ({"notificationType": "OPENED"}, "messageId"),
    ],
)
def test_malformed_reports_are_refused_naming_the_field(payload: object, field: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(callback(payload))
    assert refused.value.field == field
    assert refused.value.status == 400


def test_a_report_that_is_not_json_by_its_type_is_refused() -> None:
    with pytest.raises(CallbackRefused) as refused:
        provider().delivery_reports(callback(b"<results/>", "application/xml"))
    assert (refused.value.field, refused.value.status) == ("content-type", 415)


# --- inbound ---

# "Receive inbound SMS messages", infobip.com/docs/api (its sample).
SMS_INBOUND = {
    "results": [
        {
            "messageId": "817790313235066447",
            "from": "385916242493",
            "to": "385921004026",
            "text": "QUIZ Correct answer is Paris",
            "cleanText": "Correct answer is Paris",
            "keyword": "QUIZ",
            "receivedAt": "2016-10-06T09:28:39.220+0000",
            "smsCount": 1,
            "price": {"pricePerMessage": 0, "currency": "EUR"},
            "callbackData": "callbackData",
        }
    ],
    "messageCount": 1,
    "pendingMessageCount": 0,
}


def test_the_documented_inbound_sms_is_read() -> None:
    assert provider().inbound_messages(callback(SMS_INBOUND)) == [
        Inbound(
            "sms",
            "+385916242493",
            "+385921004026",
            "QUIZ Correct answer is Paris",
            provider_id="817790313235066447",
        )
    ]


async def test_the_standin_posts_inbound_messages_and_calls_in_infobips_formats() -> None:
    async with rig() as r:
        url = r.webhooks.inbound
        for channel, text in (("sms", "STOP"), ("whatsapp", "Hi"), ("viber", "Bok"), ("voice", "")):
            status_code = await r.standin.post_inbound(
                url, channel, "+385911234567", "13131", text, message_id=f"in-{channel}"
            )
            assert status_code == 200

        inbound = [m for c in r.receiver.inbound for m in r.provider.inbound_messages(c)]
        assert inbound == [
            Inbound("sms", "+385911234567", "13131", "STOP", provider_id="in-sms"),
            Inbound("whatsapp", "+385911234567", "13131", "Hi", provider_id="in-whatsapp"),
            Inbound("viber", "+385911234567", "13131", "Bok", provider_id="in-viber"),
            Inbound("voice", "+385911234567", "13131", "", provider_id="in-voice"),
        ]


def test_other_call_events_are_not_messages_and_broken_inbound_is_refused() -> None:
    p = provider()
    assert p.inbound_messages(callback({"type": "CALL_FINISHED", "callId": "c"})) == []
    with pytest.raises(CallbackRefused) as refused:
        p.inbound_messages(callback({"results": [{"from": "385", "to": "1"}]}))
    assert refused.value.field == "results[0].text"
    with pytest.raises(CallbackRefused) as refused:
        p.inbound_messages(callback({"type": "CALL_RECEIVED", "properties": {}}))
    assert refused.value.field == "properties.call"


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("soon") is None
    assert retry_after(None) is None
