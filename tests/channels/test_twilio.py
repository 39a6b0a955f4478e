"""The Twilio provider against the loopback Twilio stand-in: the requests' shapes, the answers,
and the signed status callbacks and inbound messages coming back to a real webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
from aiohttp import web

from tidings.channels.call_api import ApiRequest, CallApi
from tidings.channels.providers import (
    Callback,
    CallbackRefused,
    Inbound,
    Outgoing,
    Report,
    Webhooks,
)
from tidings.channels.standins.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioStandin
from tidings.channels.twilio import TwilioProvider, TwilioSettings

pytestmark = pytest.mark.anyio

FROM = "+15005550006"
TO = "+385911234567"
CONTENT_SID = "HX" + "0123456789abcdef" * 2


@dataclass
class Receiver:
    """Tidings' webhooks in miniature: each request becomes a `Callback` for the provider."""

    provider: TwilioProvider | None = None
    reports: list[Report] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    refused: list[CallbackRefused] = field(default_factory=list)
    public: str = ""

    @property
    def webhooks(self) -> Webhooks:
        return Webhooks(f"{self.public}/hooks/tok/delivery", f"{self.public}/hooks/tok/inbound")

    async def handle(self, request: web.Request) -> web.Response:
        assert self.provider is not None
        callback = Callback(
            url=self.public + request.path_qs,  # as under TIDINGS_PUBLIC_URL
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.read(),
            query=dict(request.query),
        )
        try:
            if request.path.endswith("/delivery"):
                self.reports.extend(self.provider.delivery_reports(callback))
            else:
                self.inbound.extend(self.provider.inbound_messages(callback))
        except CallbackRefused as refused:
            self.refused.append(refused)
            return web.Response(status=refused.status, text=refused.message)
        return web.Response(status=204)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    seen = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/{token}/{kind}", seen.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen.public = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield seen
    finally:
        await runner.cleanup()


@dataclass
class World:
    twilio: TwilioStandin
    provider: TwilioProvider
    hooks: Receiver

    async def send(self, *messages: Outgoing) -> list[Any]:
        return await self.provider.send(messages, self.hooks.webhooks)


@asynccontextmanager
async def world(token: str = AUTH_TOKEN, **standin: Any) -> AsyncIterator[World]:
    async with TwilioStandin(**standin) as twilio, receiver() as hooks, CallApi() as http:
        settings = TwilioSettings.model_validate(
            {"baseUrl": twilio.url, "accountSid": ACCOUNT_SID, "authToken": token}
        )
        provider = TwilioProvider(settings, http, allow_private=True)
        hooks.provider = provider
        yield World(twilio, provider, hooks)


def sms(id_: str = "out-1", to: str = TO, text: str = "Hello Ana") -> Outgoing:
    return Outgoing(id=id_, channel="sms", to=to, sender=FROM, content={"text": text})


async def test_an_sms_is_posted_in_twilios_form_and_accepted_with_its_sid() -> None:
    async with world() as w:
        (result,) = await w.send(sms())
        await w.twilio.settle()

        (message,) = w.twilio.messages
        assert (result.status, result.provider_id) == ("accepted", message.sid)
        assert message.sid.startswith("SM")
        assert len(message.sid) == 34
        assert (message.to, message.from_, message.body) == (TO, FROM, "Hello Ana")
        assert set(message.form) == {"To", "From", "Body", "StatusCallback"}
        assert message.status_callback == f"{w.hooks.webhooks.delivery}?m=out-1"
        assert message.idempotency_token == "out-1"


async def test_the_status_callbacks_come_back_signed_and_name_our_id() -> None:
    async with world() as w:
        await w.send(sms("out-1"), sms("out-2", to="+385911111111"))
        await w.twilio.settle()

        assert w.hooks.refused == []
        by_id: dict[str, list[str]] = {}
        for report in w.hooks.reports:
            by_id.setdefault(report.message_id, []).append(report.status)
        assert by_id == {
            "out-1": ["pending"] * 2 + ["delivered"],
            "out-2": ["pending"] * 2 + ["delivered"],
        }
        assert w.twilio.reports_posted == 6


async def test_fates_by_number_and_channel_become_failed_and_seen_reports() -> None:
    async with world(fates={"+385900000000": "undelivered", "whatsapp": "read"}) as w:
        whatsapp = Outgoing("out-w", "whatsapp", TO, FROM, {"text": "Hi"})
        await w.send(sms("out-u", to="+385900000000"), whatsapp)
        await w.twilio.settle()

        finals = {r.message_id: r for r in w.hooks.reports if r.status != "pending"}
        assert finals["out-u"].status == "failed"
        assert (
            finals["out-u"].reason
            == "undelivered: Twilio error 30003: Unreachable destination handset"
        )
        assert [r.status for r in w.hooks.reports if r.message_id == "out-w"][-2:] == [
            "delivered",
            "seen",
        ]


async def test_whatsapp_text_and_content_templates_take_twilios_fields() -> None:
    async with world() as w:
        text = Outgoing("out-t", "whatsapp", TO, FROM, {"text": "Your order shipped"})
        template = Outgoing(
            "out-c",
            "whatsapp",
            TO,
            FROM,
            {"template": {"name": CONTENT_SID, "language": "en", "params": ["Ana", "12"]}},
        )
        by_name = Outgoing(
            "out-n",
            "whatsapp",
            TO,
            FROM,
            {"template": {"name": "order_shipped", "language": "en", "params": []}},
        )
        results = await w.send(text, template, by_name)

        assert [r.status for r in results] == ["accepted", "accepted", "failed"]
        assert "Content SID" in results[2].reason
        sent_text, sent_template = w.twilio.messages
        assert (sent_text.to, sent_text.from_) == (f"whatsapp:{TO}", f"whatsapp:{FROM}")
        assert sent_text.body == "Your order shipped"
        assert sent_template.content_sid == CONTENT_SID
        assert sent_template.content_variables == {"1": "Ana", "2": "12"}
        assert "Body" not in sent_template.form


async def test_a_messaging_service_sender_is_sent_as_messaging_service_sid() -> None:
    service = "MG" + "ab" * 16
    async with world() as w:
        message = Outgoing("out-1", "sms", TO, service, {"text": "Hi"})
        (result,) = await w.send(message)
        assert result.status == "accepted"
        assert w.twilio.messages[0].form["MessagingServiceSid"] == service
        assert "From" not in w.twilio.messages[0].form


async def test_basic_auth_is_sent_and_a_wrong_token_fails_without_naming_it() -> None:
    wrong = "0badc0ffee" * 3 + "00"
    async with world(token=wrong) as w:
        (result,) = await w.send(sms())
        assert result.status == "failed"
        assert result.reason == "Twilio error 20003: Authenticate"
        assert wrong not in result.reason
        assert w.twilio.messages == []


async def test_a_batch_runs_concurrently_and_keeps_its_order() -> None:
    async with world() as w:
        batch = [sms(f"out-{i}", text=f"n{i}") for i in range(50)]
        results = await w.send(*batch)
        assert [r.id for r in results] == [m.id for m in batch]
        assert all(r.status == "accepted" for r in results)
        assert len({r.provider_id for r in results}) == 50
        assert sorted(m.body or "" for m in w.twilio.messages) == sorted(f"n{i}" for i in range(50))


async def test_twilio_keeps_no_idempotency_so_a_blind_repeat_is_a_second_message() -> None:
    async with world() as w:
        (first,) = await w.send(sms("out-1"))
        (again,) = await w.send(sms("out-1"))
        await w.twilio.settle()
        assert first.provider_id != again.provider_id
        assert len(w.twilio.messages) == 2  # as at the real Twilio
        assert w.twilio.duplicates == 1
        assert w.twilio.lookups == 0  # nothing said an earlier try's outcome was unknown


async def test_a_resend_after_an_unknown_outcome_takes_the_earlier_message() -> None:
    async with world() as w:
        tried = time.time()
        (first,) = await w.send(sms("out-1"))
        unknown = sms("out-1")._replace(unknown_since=tried)
        (again,) = await w.send(unknown)
        assert (again.status, again.provider_id) == ("accepted", first.provider_id)
        assert len(w.twilio.messages) == 1
        assert w.twilio.lookups == 1
        # another text to the same number is not taken for it: it is sent
        (other,) = await w.send(sms("out-2", text="Other")._replace(unknown_since=tried))
        assert other.status == "accepted"
        assert other.provider_id not in (None, first.provider_id)
        assert len(w.twilio.messages) == 2
        # nor is a message Twilio had before the earlier try was made
        later = sms("out-3")._replace(unknown_since=tried + 3600)
        (fresh,) = await w.send(later)
        assert fresh.provider_id not in (None, first.provider_id)
        assert len(w.twilio.messages) == 3
        # two unknown tries of one text in a batch take one earlier message each
        a, b = await w.send(
            sms("out-4")._replace(unknown_since=tried), sms("out-5")._replace(unknown_since=tried)
        )
        assert {a.provider_id, b.provider_id} == {first.provider_id, fresh.provider_id}
        assert len(w.twilio.messages) == 3


async def test_a_look_up_twilio_does_not_answer_is_a_retry_and_sends_nothing() -> None:
    async with world() as w:
        w.twilio.fail_next(1, 503)
        (result,) = await w.send(sms("out-1")._replace(unknown_since=time.time()))
        assert result.status == "retry"
        assert "looking up an earlier try" in (result.reason or "")
        assert w.twilio.messages == []
        w.twilio.fail_next(1, 429, retry_after=4)
        (limited,) = await w.send(sms("out-1")._replace(unknown_since=time.time()))
        assert (limited.status, limited.retry_after) == ("retry", 4.0)
        assert w.twilio.messages == []


async def test_the_stand_in_lists_messages_as_twilio_does() -> None:
    async with world() as w:
        await w.send(sms("out-1"), sms("out-2", to="+385911111111"))
        await w.twilio.settle()
        basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        query = urlencode({"To": TO, "From": FROM, "DateSent>=": "2000-01-01", "PageSize": 5})
        url = f"{w.twilio.messages_url()}?{query}"
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=headers) as answer:
                assert answer.status == 200
                page = await answer.json()
            async with session.get(url) as unsigned:
                assert unsigned.status == 401
        (listed,) = page["messages"]
        assert (listed["to"], listed["from"], listed["body"]) == (TO, FROM, "Hello Ana")
        assert listed["date_sent"] is not None
        assert page["page_size"] == 5


async def test_429_and_5xx_are_retries_with_retry_after() -> None:
    async with world() as w:
        w.twilio.fail_next(1, 429, retry_after=7)
        w.twilio.fail_next(1, 503)
        (limited,) = await w.send(sms("out-1"))
        (broken,) = await w.send(sms("out-2"))
        (fine,) = await w.send(sms("out-3"))

        assert (limited.status, limited.retry_after) == ("retry", 7.0)
        assert limited.reason == "Twilio error 20429: Too Many Requests"
        assert (broken.status, broken.retry_after) == ("retry", None)
        assert fine.status == "accepted"
        assert [m.idempotency_token for m in w.twilio.messages] == ["out-3"]


async def test_a_rejected_message_fails_with_twilios_reason() -> None:
    async with world(blocked=frozenset({"+385922222222"})) as w:
        results = await w.send(
            sms("out-1", to="+385922222222"),
            sms("out-2", to="0911234567"),
            sms("out-3", text="x" * 1601),
            sms("out-4"),
        )
        assert [(r.status, r.reason) for r in results] == [
            ("failed", "Twilio error 21610: Attempt to send to unsubscribed recipient"),
            ("failed", "Twilio error 21211: Invalid 'To' Phone Number: 0911234567"),
            (
                "failed",
                "Twilio error 21617: The concatenated message body exceeds the 1600 "
                "character limit.",
            ),
            ("accepted", None),
        ]


async def test_an_unreachable_twilio_is_a_retry(closed_port: int) -> None:
    async with CallApi() as http:
        settings = TwilioSettings.model_validate(
            {
                "baseUrl": f"http://127.0.0.1:{closed_port}",
                "accountSid": ACCOUNT_SID,
                "authToken": AUTH_TOKEN,
            }
        )
        provider = TwilioProvider(settings, http, allow_private=True)
        (result,) = await provider.send([sms()], Webhooks("https://h/d", "https://h/i"))
        assert result.status == "retry"
        assert "connection refused" in (result.reason or "")


async def test_a_private_base_url_is_refused_unless_allowed() -> None:
    async with TwilioStandin() as twilio, CallApi() as http:
        settings = TwilioSettings.model_validate(
            {"baseUrl": twilio.url, "accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN}
        )
        provider = TwilioProvider(settings, http, allow_private=False)
        (result,) = await provider.send([sms()], Webhooks("https://h/d", "https://h/i"))
        assert result.status == "failed"
        assert twilio.requests == 0


async def test_the_stand_in_answers_twilios_error_shapes() -> None:
    async with TwilioStandin() as twilio, CallApi() as http:
        basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

        async def post(body: str, auth: str = basic) -> tuple[int | None, Any]:
            headers = {
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            request = ApiRequest("POST", twilio.messages_url(), headers, body, retries=0)
            result = await http.call(request, allow_private=True)
            return result.status, result.data.get("body")

        status, body = await post("From=%2B15005550006&Body=hi")
        assert (status, body["code"]) == (400, 21604)
        assert set(body) == {"code", "message", "more_info", "status"}
        assert (await post("To=%2B385911234567&Body=hi"))[1]["code"] == 21603
        assert (await post("To=%2B385911234567&From=%2B15005550006"))[1]["code"] == 21602
        no_auth = await post("To=%2B385911234567&From=%2B15005550006&Body=x", auth="eA==")
        assert no_auth[0] == 401
        assert no_auth[1] == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
        status, body = await post("To=%2B385911234567&From=%2B15005550006&Body=x")
        assert status == 201
        assert (body["status"], body["price"], body["direction"]) == (
            "queued",
            None,
            "outbound-api",
        )


async def test_a_price_in_the_answer_is_the_messages_price() -> None:
    async with world(price="-0.00790") as w:
        (result,) = await w.send(sms())
        assert result.price == pytest.approx(0.0079)


async def test_inbound_messages_are_posted_signed_and_read() -> None:
    async with world() as w:
        inbound_url = w.hooks.webhooks.inbound
        assert await w.twilio.post_inbound(inbound_url, TO, FROM, "STOP") == 204
        assert await w.twilio.post_inbound(inbound_url, TO, FROM, "hi", channel="whatsapp") == 204
        assert [(m.channel, m.sender, m.to, m.text) for m in w.hooks.inbound] == [
            ("sms", TO, FROM, "STOP"),
            ("whatsapp", TO, FROM, "hi"),
        ]


async def test_a_callback_signed_with_another_token_is_refused_by_the_webhook() -> None:
    async with world() as w:
        w.twilio.auth_token = "someone-else"  # the stand-in now signs with a token we lack
        status = await w.twilio.post_inbound(w.hooks.webhooks.inbound, TO, FROM, "hi")
        assert status == 403
        assert w.hooks.inbound == []
        assert [r.field for r in w.hooks.refused] == ["X-Twilio-Signature"]


async def test_a_report_delay_and_no_report_fate_are_honoured() -> None:
    async with world(report_delay=0.2, fates={"+385933333333": "none"}) as w:
        await w.send(sms("out-1"), sms("out-2", to="+385933333333"))
        await asyncio.sleep(0.05)
        assert w.hooks.reports == []
        await w.twilio.settle()
        assert {r.message_id for r in w.hooks.reports} == {"out-1"}


async def test_the_request_form_is_what_twilio_python_would_send() -> None:
    async with world() as w:
        await w.send(sms("id with space&more"))
        (message,) = w.twilio.messages
        callback = message.status_callback or ""
        assert parse_qs(callback.partition("?")[2]) == {"m": ["id with space&more"]}
        await w.twilio.settle()
        assert {r.message_id for r in w.hooks.reports} == {"id with space&more"}
        assert w.hooks.refused == []
        json.dumps(message.form)  # plain strings only
