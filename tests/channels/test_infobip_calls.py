"""The Infobip provider's Calls API actions against the loopback stand-in, and the call
events' parser: a voice message on a live call is one documented request (answer, say,
capture DTMF with the text as its prompt, hang up); a call that is gone, a wrong key or a
refused body is `failed` with Infobip's words; events parse into what Tidings acts on and
malformed ones are refused naming the field."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from tidings.channels.call_api import CallApi
from tidings.channels.infobip import InfobipProvider, InfobipSettings
from tidings.channels.infobip_calls import call_events
from tidings.channels.providers import Callback, CallbackRefused, Outgoing, Webhooks
from tidings.channels.standins.infobip import InfobipStandin

pytestmark = pytest.mark.anyio

KEY = "infobip-calls-key"
HOOKS = Webhooks("http://127.0.0.1:9/d", "http://127.0.0.1:9/i")


class Sink:
    """Where the stand-in posts call events: it keeps them and answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Sink:
        app = web.Application()
        app.router.add_post("/inbound", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/inbound"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        self.events.append(json.loads(await request.read()))
        return web.json_response({})


@asynccontextmanager
async def rig(key: str = KEY) -> AsyncIterator[tuple[InfobipStandin, Sink, InfobipProvider]]:
    async with (
        InfobipStandin(api_key=KEY) as standin,
        Sink() as sink,
        CallApi(allow_private=True) as api,
    ):
        settings = InfobipSettings(base_url=standin.url, api_key=key)
        yield standin, sink, InfobipProvider(settings, api, allow_private=True)


def action(oid: str, call_id: str, what: str, **content: Any) -> Outgoing:
    body = {"call": {"id": call_id, "action": what}, **content}
    return Outgoing(oid, "voice", "+385911111111", "+385991000000", body)


async def test_answer_capture_say_and_hang_up_are_the_documented_requests() -> None:
    async with rig() as (standin, sink, provider):
        call = await standin.calls.place_call(sink.url, "+385911111111", "+385991000000")
        collect = {"variable": "x", "maxDigits": 3, "timeout": "PT7S"}
        batch = [action("1", call.id, "answer")]
        assert [r.status for r in await provider.send(batch, HOOKS)] == ["accepted"]
        capture = action("2", call.id, "say", say="Press", language="hr", collect=collect)
        say = action("3", call.id, "say", say="Bye")
        hangup = action("4", call.id, "hangup")
        for message in (capture, say, hangup):
            (result,) = await provider.send([message], HOOKS)
            assert result.status == "accepted", result.reason
        await standin.drain()
    assert [a for a, _ in call.actions] == ["answer", "capture/dtmf", "say", "hangup"]
    assert call.actions[1][1] == {
        "maxLength": 3,
        "timeout": 7000,
        "terminator": "#",
        "playContent": {"type": "TEXT", "text": "Press", "language": "hr"},
        "customData": {"tidingsMessageId": "2"},
    }
    assert call.actions[2][1] == {"text": "Bye", "language": "en"}
    assert [e["type"] for e in sink.events] == [
        "CALL_RECEIVED",
        "CALL_ESTABLISHED",
        "DTMF_CAPTURED",
        "SAY_FINISHED",
        "CALL_FINISHED",
    ]
    captured = sink.events[2]["properties"]
    assert captured["timeout"] is True  # nothing scripted: nobody keyed in
    assert captured["customData"] == {"tidingsMessageId": "2"}
    assert sink.events[-1]["properties"]["callLog"]["hangupSource"] == "API"


async def test_a_call_that_is_gone_or_a_wrong_key_fails_with_infobips_words() -> None:
    async with rig() as (standin, sink, provider):
        call = await standin.calls.place_call(sink.url, "+385911111111", "+385991000000")
        (early,) = await provider.send([action("1", call.id, "say", say="Hi")], HOOKS)
        assert early.status == "failed"
        assert "not established" in (early.reason or "")
        (gone,) = await provider.send([action("2", "no-such-call", "answer")], HOOKS)
        assert gone.status == "failed"
        assert "Call not found" in (gone.reason or "")
        (bad,) = await provider.send([action("3", call.id, "say")], HOOKS)  # no text
        assert (bad.status, bad.reason) == ("failed", "voice: say is missing")
    async with rig(key="wrong") as (standin, sink, provider):
        call = await standin.calls.place_call(sink.url, "+385911111111", "+385991000000")
        (refused,) = await provider.send([action("1", call.id, "answer")], HOOKS)
        assert refused.status == "failed"
        assert "wrong" not in (refused.reason or "")
        assert call.actions == []


async def test_the_stand_in_refuses_bodies_that_are_not_infobips() -> None:
    async with rig() as (standin, sink, provider):
        call = await standin.calls.place_call(sink.url, "+385911111111", "+385991000000")
        assert (await provider.send([action("1", call.id, "answer")], HOOKS))[0].status == (
            "accepted"
        )
        session = standin._session
        assert session is not None
        url = f"{standin.url}/calls/1/calls/{call.id}/capture/dtmf"
        headers = {"Authorization": f"App {KEY}", "Content-Type": "application/json"}
        for body, field in (
            ({"timeout": 5000}, "maxLength"),
            ({"maxLength": 0, "timeout": 5000}, "maxLength"),
            ({"maxLength": 1, "timeout": 5000, "color": "red"}, "color"),
            (
                {"maxLength": 1, "timeout": 5000, "playContent": {"type": "TEXT"}},
                "playContent.text",
            ),
        ):
            async with session.post(url, json=body, headers=headers) as answer:
                assert answer.status == 400
                errors = (await answer.json())["requestError"]["serviceException"]
                assert list(errors["validationErrors"]) == [field]
        assert [a for a, _ in call.actions] == ["answer"]


def event(payload: Any, content_type: str = "application/json") -> Callback:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Callback(
        "https://t.example/api/v1/webhooks/x/inbound", {"content-type": content_type}, body
    )


def test_call_events_parse_into_what_tidings_acts_on() -> None:
    received = {
        "type": "CALL_RECEIVED",
        "callId": "c-1",
        "timestamp": "2026-01-05T00:00:00.000+0000",
        "properties": {
            "call": {
                "id": "c-1",
                "endpoint": {"type": "PHONE", "phoneNumber": "385911111111"},
                "to": "385991000000",
                "direction": "INBOUND",
            }
        },
    }
    (got,) = call_events(event(received)) or []
    assert (got.type, got.call_id, got.caller, got.number) == (
        "CALL_RECEIVED",
        "c-1",
        "+385911111111",
        "+385991000000",
    )
    captured = {
        "type": "DTMF_CAPTURED",
        "callId": "c-1",
        "properties": {"dtmf": "42#", "timeout": False, "customData": {"tidingsMessageId": "9"}},
    }
    (got,) = call_events(event(captured)) or []
    assert (got.digits, got.timed_out, got.message_id) == ("42", False, "9")
    finished = {
        "type": "CALL_FINISHED",
        "callId": "c-1",
        "properties": {
            "callLog": {"hangupSource": "ENDPOINT", "errorCode": {"name": "NORMAL_HANGUP"}}
        },
    }
    (got,) = call_events(event(finished)) or []
    assert (got.hangup_source, got.error) == ("ENDPOINT", "NORMAL_HANGUP")
    (other,) = call_events(event({"type": "CALL_RINGING", "callId": "c-1"})) or []
    assert other.type == "CALL_RINGING"
    # not Calls events: an inbound SMS, or a body that is not JSON
    assert call_events(event({"results": []})) is None
    assert call_events(event(b"not json")) is None
    assert call_events(event(b"a=b", "application/x-www-form-urlencoded")) is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": ["CALL_RECEIVED"], "callId": "c"}, "type"),
        ({"type": "SAY_FINISHED"}, "callId"),
        ({"type": "SAY_FINISHED", "callId": "x" * 129}, "callId"),
        ({"type": "SAY_FINISHED", "callId": "c", "timestamp": 5}, "timestamp"),
        ({"type": "DTMF_CAPTURED", "callId": "c", "properties": {"dtmf": "4x"}}, "properties.dtmf"),
        (
            {"type": "DTMF_CAPTURED", "callId": "c", "properties": {"customData": "9"}},
            "properties.customData",
        ),
        (
            {"type": "CALL_RECEIVED", "callId": "c", "properties": {"call": {"to": "1"}}},
            "properties.call.from",
        ),
        (
            {
                "type": "CALL_RECEIVED",
                "callId": "c",
                "properties": {"call": {"from": "1", "to": "2", "direction": "OUTBOUND"}},
            },
            "properties.call.direction",
        ),
        (
            {"type": "CALL_FINISHED", "callId": "c", "properties": {"callLog": []}},
            "properties.callLog",
        ),
    ],
)
def test_malformed_call_events_are_refused_naming_the_field(payload: Any, field: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        call_events(event(payload))
    assert refused.value.field == field
    assert refused.value.status == 400
