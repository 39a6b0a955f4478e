"""Twilio voice calls against the loopback Twilio stand-in: the `Calls.json` form and its
inline TwiML, the signed status callbacks and `<Gather>` actions coming back to a webhook
receiver that answers what the provider says (TwiML to a Gather action), and the reports
they become."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse
from xml.etree import ElementTree

import pytest
from aiohttp import web

from tests.channels.test_twilio import Receiver
from tidings.channels.call_api import ApiRequest, CallApi
from tidings.channels.providers import Callback, CallbackRefused, Outgoing, Report
from tidings.channels.standins.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioStandin
from tidings.channels.twilio import TwilioProvider, TwilioSettings, signature

pytestmark = pytest.mark.anyio

FROM = "+15005550006"
TO = "+385911234567"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class AnsweringReceiver(Receiver):
    """The receiver of test_twilio, answering a callback as the webhook does: with the
    provider's own answer when it has one (TwiML to a Gather action)."""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        callback = Callback(
            url=self.public + request.path_qs,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            query=dict(request.query),
        )
        assert self.provider is not None
        try:
            self.reports.extend(self.provider.delivery_reports(callback))
        except CallbackRefused as refused:
            self.refused.append(refused)
            return web.Response(status=refused.status, text=refused.message)
        answer = self.provider.callback_answer(callback)
        if answer is not None:
            return web.Response(body=answer[0], content_type=answer[1])
        return web.json_response({"reports": 1})


@dataclass
class World:
    twilio: TwilioStandin
    provider: TwilioProvider
    hooks: AnsweringReceiver

    async def send(self, *messages: Outgoing) -> list[Any]:
        return await self.provider.send(messages, self.hooks.webhooks)


@asynccontextmanager
async def world(**standin: Any) -> AsyncIterator[World]:
    hooks = AnsweringReceiver()
    app = web.Application()
    app.router.add_post("/hooks/{token}/{kind}", hooks.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hooks.public = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with TwilioStandin(**standin) as twilio, CallApi() as http:
            settings = TwilioSettings.model_validate(
                {"baseUrl": twilio.url, "accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN}
            )
            provider = TwilioProvider(settings, http, allow_private=True)
            hooks.provider = provider
            yield World(twilio, provider, hooks)
    finally:
        await runner.cleanup()


def call(
    id_: str = "out-1",
    to: str = TO,
    say: str = "Hello Ana",
    sender: str = FROM,
    **content: Any,
) -> Outgoing:
    return Outgoing(id=id_, channel="voice", to=to, sender=sender, content={"say": say, **content})


async def test_a_call_is_posted_in_twilios_form_with_inline_twiml() -> None:
    async with world() as w:
        (result,) = await w.send(call(language="en-GB"))
        (made,) = w.twilio.messages
        assert (result.status, result.provider_id) == ("accepted", made.sid)
        assert made.sid.startswith("CA")
        assert len(made.sid) == 34
        assert made.channel == "voice"
        assert made.form == {
            "To": TO,
            "From": FROM,
            "Twiml": '<Response><Say language="en-GB">Hello Ana</Say></Response>',
            "StatusCallback": f"{w.hooks.webhooks.delivery}?m=out-1",
            "StatusCallbackEvent": "completed",
        }
        assert made.idempotency_token == "out-1"
        assert made.gather is None
        assert made.say == "Hello Ana"


async def test_the_text_is_xml_escaped_and_said_as_written() -> None:
    text = 'Tom & Jerry <3 "you"\x07'
    async with world() as w:
        (result,) = await w.send(call(say=text))
        assert result.status == "accepted"
        (made,) = w.twilio.messages
        assert made.twiml == '<Response><Say>Tom &amp; Jerry &lt;3 "you"</Say></Response>'
        assert made.say == 'Tom & Jerry <3 "you"'  # what the stand-in's XML parser read


async def test_collecting_digits_wraps_the_say_in_a_gather_aimed_at_the_webhook() -> None:
    async with world() as w:
        collect = {"maxDigits": 2, "timeout": "PT1M"}
        await w.send(call("out 7&x", say="Press a key", language="en", collect=collect))
        (made,) = w.twilio.messages
        action = f"{w.hooks.webhooks.delivery}?{urlencode({'m': 'out 7&x', 'gather': '1'})}"
        assert made.twiml == (
            '<Response><Gather input="dtmf" numDigits="2" timeout="60" '
            f'action="{action.replace("&", "&amp;")}" method="POST">'
            '<Say language="en">Press a key</Say></Gather></Response>'
        )
        assert made.gather is not None
        assert (made.gather.action, made.gather.method) == (action, "POST")
        assert (made.gather.num_digits, made.gather.timeout, made.gather.say) == (
            2,
            60,
            "Press a key",
        )
        assert parse_qs(urlparse(action).query) == {"m": ["out 7&x"], "gather": ["1"]}


async def test_the_digits_come_back_before_the_completed_call_and_get_twiml() -> None:
    async with world(voice_digits="42") as w:
        await w.send(
            call("out-1", collect={"maxDigits": 1, "timeout": "PT5S"}),
            call("out-2", to="+385911111111"),
        )
        await w.twilio.settle()
        assert w.hooks.refused == []
        by_id: dict[str, list[Report]] = {}
        for report in w.hooks.reports:
            by_id.setdefault(report.message_id, []).append(report)
        # numDigits=1: Twilio stops listening after one key
        assert [(r.status, r.digits) for r in by_id["out-1"]] == [
            ("delivered", "4"),
            ("delivered", None),
        ]
        assert [(r.status, r.digits) for r in by_id["out-2"]] == [("delivered", None)]
        first = next(p for p in w.twilio.posted if p.form.get("Digits"))
        assert (first.status, first.answer) == (200, EMPTY_TWIML)
        assert first.form["CallStatus"] == "in-progress"
        ElementTree.fromstring(first.answer)  # TwiML Twilio can run
        completed = [p for p in w.twilio.posted if p.form.get("CallStatus") == "completed"]
        assert len(completed) == 2
        assert all(p.answer.startswith("{") for p in completed)  # JSON, not TwiML
        made = w.twilio.messages[0]
        assert made.statuses == ["gather", "completed"]
        assert made.digits == "4"


async def test_unanswered_and_busy_calls_fail_with_the_status_and_gather_nothing() -> None:
    fates = {"+385900000000": "no-answer", "+385900000001": "busy"}
    async with world(fates=fates) as w:
        collect = {"maxDigits": 2, "timeout": "PT5S"}
        await w.send(
            call("out-n", to="+385900000000", collect=collect),
            call("out-b", to="+385900000001"),
        )
        await w.twilio.settle()
        reports = {r.message_id: (r.status, r.reason, r.digits) for r in w.hooks.reports}
        assert reports == {
            "out-n": ("failed", "no-answer", None),
            "out-b": ("failed", "busy", None),
        }
        assert not any("Digits" in p.form for p in w.twilio.posted)


async def test_a_call_without_keys_pressed_is_only_answered() -> None:
    async with world(voice_digits="") as w:
        await w.send(call(collect={"maxDigits": 2, "timeout": "PT5S"}))
        await w.twilio.settle()
        assert [(r.status, r.digits) for r in w.hooks.reports] == [("delivered", None)]


async def test_progress_events_are_pending() -> None:
    async with world() as w:
        provider = w.provider
        url = f"{w.hooks.webhooks.delivery}?m=out-1"

        def report(status: str) -> list[Report]:
            form = {"CallSid": "CA" + "0" * 32, "CallStatus": status, "AccountSid": ACCOUNT_SID}
            return provider.delivery_reports(signed(url, form))

        for status in ("queued", "initiated", "ringing", "in-progress"):
            assert report(status) == [Report("out-1", "pending")]
        assert report("canceled") == [Report("out-1", "failed", reason="canceled")]
        assert report("failed") == [Report("out-1", "failed", reason="failed")]
        with pytest.raises(CallbackRefused) as refused:
            report("answered-by-a-robot")
        assert (refused.value.field, refused.value.status) == ("CallStatus", 400)
        gather = f"{w.hooks.webhooks.delivery}?m=out-1&gather=1"
        empty = signed(gather, {"CallSid": "CA" + "0" * 32, "CallStatus": "in-progress"})
        assert provider.delivery_reports(empty) == [Report("out-1", "pending")]
        assert provider.callback_answer(empty) is not None
        assert provider.callback_answer(signed(url, {"CallSid": "x"})) is None


async def test_a_forged_gather_action_is_refused() -> None:
    async with world() as w:
        url = f"{w.hooks.webhooks.delivery}?m=out-1&gather=1"
        form = {"CallSid": "CA" + "0" * 32, "CallStatus": "in-progress", "Digits": "1"}
        forged = signed(url, {**form, "Digits": "9"}, given=signature(AUTH_TOKEN, url, form))
        with pytest.raises(CallbackRefused) as refused:
            w.provider.delivery_reports(forged)
        assert (refused.value.field, refused.value.status) == ("X-Twilio-Signature", 403)
        # the query is signed too: the same form aimed at another message is forged
        other = url.replace("m=out-1", "m=out-2")
        moved = signed(other, form, given=signature(AUTH_TOKEN, url, form))
        with pytest.raises(CallbackRefused):
            w.provider.delivery_reports(moved)
        assert w.provider.delivery_reports(signed(url, form)) == [
            Report("out-1", "delivered", digits="1")
        ]


async def test_the_stand_in_signs_with_its_own_token_and_forgeries_are_refused() -> None:
    async with world(report_delay=0.3) as w:
        await w.send(call(collect={"maxDigits": 2, "timeout": "PT5S"}))
        w.twilio.auth_token = "someone-else"  # the calls are posted signed with a token we lack
        await w.twilio.settle()
        assert w.hooks.reports == []
        assert [r.status for r in w.hooks.refused] == [403, 403]


async def test_calls_twilio_cannot_make_fail_without_a_request() -> None:
    async with world() as w:
        service = "MG" + "ab" * 16
        results = await w.send(
            call("out-1", sender=service),
            call("out-2", sender=""),
            call("out-3", say="  "),
            call("out-4", say="x" * 4000),
            call("out-5", collect={"maxDigits": 0}),
            call("out-6", collect={"maxDigits": 1, "timeout": "soon"}),
        )
        assert [r.status for r in results] == ["failed"] * 6
        assert "Messaging Service" in results[0].reason
        assert "4000" in results[3].reason
        assert "maxDigits" in results[4].reason
        assert "timeout" in results[5].reason
        assert w.twilio.requests == 0


async def test_a_call_tried_again_after_an_unknown_outcome_is_one_call() -> None:
    async with world() as w:
        w.twilio.fail_next(1, 429, retry_after=3)
        (limited,) = await w.send(call("out-1"))
        tried = time.time()
        (first,) = await w.send(call("out-1"))
        (again,) = await w.send(call("out-1")._replace(unknown_since=tried))
        await w.twilio.settle()
        assert (limited.status, limited.retry_after) == ("retry", 3.0)
        assert (again.status, again.provider_id) == ("accepted", first.provider_id)
        assert len(w.twilio.messages) == 1
        assert w.twilio.lookups == 1
        assert [r.status for r in w.hooks.reports] == ["delivered"]
        # a call to another number is not taken for it
        (other,) = await w.send(call("out-2", to="+385911111111")._replace(unknown_since=tried))
        assert other.provider_id not in (None, first.provider_id)
        assert len(w.twilio.messages) == 2


async def test_the_stand_in_answers_twilios_call_errors() -> None:
    async with TwilioStandin() as twilio, CallApi() as http:
        basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

        async def post(form: dict[str, str], auth: str = basic) -> tuple[int | None, Any]:
            headers = {
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            request = ApiRequest("POST", twilio.calls_url(), headers, urlencode(form), retries=0)
            result = await http.call(request, allow_private=True)
            return result.status, result.data.get("body")

        twiml = "<Response><Say>Hi</Say></Response>"
        status, body = await post({"From": FROM, "Twiml": twiml})
        assert (status, body["code"]) == (400, 21201)
        assert set(body) == {"code", "message", "more_info", "status"}
        assert (await post({"To": TO, "Twiml": twiml}))[1]["code"] == 21213
        status, body = await post({"To": TO, "From": FROM})
        assert (status, body["code"]) == (400, 21205)
        assert body["message"].startswith("Url parameter is required")
        assert (await post({"To": "0911", "From": FROM, "Twiml": twiml}))[1]["code"] == 21211
        assert (await post({"To": TO, "From": FROM, "Twiml": "<Say>"}))[1]["code"] == 12100
        assert (await post({"To": TO, "From": FROM, "Twiml": "<Say>x</Say>"}))[1]["code"] == 12100
        bad_hook = {"To": TO, "From": FROM, "Twiml": twiml, "StatusCallback": "ftp://x"}
        assert (await post(bad_hook))[1]["code"] == 21609
        assert (await post({"To": TO, "From": FROM, "Twiml": twiml}, auth="eA=="))[0] == 401
        status, body = await post({"To": TO, "From": FROM, "Url": "https://example.com/t.xml"})
        assert status == 201
        assert (body["status"], body["direction"]) == ("queued", "outbound-api")
        assert body["sid"].startswith("CA")
        assert twilio.messages[0].twiml is None
        assert twilio.requests == 9


async def test_the_stand_in_posts_the_progress_events_asked_for() -> None:
    async with world() as w, CallApi() as http:
        basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        hook = f"{w.hooks.webhooks.delivery}?m=out-9"
        form = [
            ("To", TO),
            ("From", FROM),
            ("Twiml", "<Response><Say>Hi</Say></Response>"),
            ("StatusCallback", hook),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
        ]
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        request = ApiRequest("POST", w.twilio.calls_url(), headers, urlencode(form), retries=0)
        assert (await http.call(request, allow_private=True)).status == 201
        await w.twilio.settle()
        assert w.twilio.messages[0].statuses == ["initiated", "ringing", "in-progress", "completed"]
        assert [r.status for r in w.hooks.reports] == ["pending"] * 3 + ["delivered"]
        sequence = [p.form["SequenceNumber"] for p in w.twilio.posted]
        assert sequence == ["0", "1", "2", "3"]


def signed(url: str, form: dict[str, str], given: str | None = None) -> Callback:
    """A callback as Twilio would post `form` to `url`, signed with the stand-in's token
    (or carrying the signature `given`)."""
    return Callback(
        url=url,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": given or signature(AUTH_TOKEN, url, form),
        },
        body=urlencode(form).encode(),
        query={k: v[0] for k, v in parse_qs(urlparse(url).query).items()},
    )
