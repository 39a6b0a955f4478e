"""The Infobip stand-in's Calls API: inbound calls in IVR, on loopback.

`standin.calls.place_call(url, from_, to, digits=[...])` is a person dialling one of the
account's numbers: it posts CALL_RECEIVED to `url` (the connection's inbound webhook, as
the Calls configuration's subscription would) and then answers Tidings' requests, as
Infobip documents them (`CallsApi` in infobip-api-java-client 6.x), each with
`Authorization: App <api_key>` (else 401), a JSON body of the documented shape (else 400
in Infobip's error shape) and a call it knows that has not ended (else 404):

- `POST /calls/1/calls/{callId}/answer` `{customData?}`: the call is established and
  CALL_ESTABLISHED is posted;
- `/say` `{"text", "language", speechRate?, loopCount?}`: the text is kept (`said`) and
  SAY_FINISHED posted;
- `/capture/dtmf` `{"maxLength", "timeout" (ms), terminator?, digitTimeout?,
  playContent?: {"type": "TEXT", "text", "language"}, customData?}`: the prompt is kept,
  and the caller's next scripted answer posted: DTMF_CAPTURED with those digits (at most
  `maxLength`; "" is a timeout), or, for `HANG_UP`, the caller hangs up (CALL_FINISHED,
  hangupSource ENDPOINT); `SILENT` posts nothing (the caller just listens);
- `/hangup` `{errorCode?}`: the call ends, CALL_FINISHED (hangupSource API).

Each is answered `{"status": "PENDING"}`. A call's events are posted in order, after
`event_delay` seconds, to the URL it was placed with; `hang_up(call_id)` is the caller
hanging up now. Everything is kept per call (`Call.actions`, `Call.said`, `Call.posted`)
for the tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

HANG_UP = "HANG_UP"  # a scripted answer: the caller hangs up instead of keying in
SILENT = "SILENT"  # a scripted answer: the capture never ends (no event at all)
_LANGUAGE = 16
_TEXT = 4000
_ERRORS = {
    "NORMAL_HANGUP": {"id": 10000, "name": "NORMAL_HANGUP", "description": "The call ended."},
}


@dataclass
class Call:
    """One call the stand-in placed, and what happened to it."""

    id: str
    caller: str  # as Infobip writes numbers: digits, no "+"
    number: str
    url: str  # where its events go
    script: list[str]  # the caller's answers to captures, in order (HANG_UP: hangs up)
    state: str = "CALLING"  # CALLING -> ESTABLISHED -> FINISHED
    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (action, body)
    said: list[str] = field(default_factory=list)  # texts said and prompts played
    posted: list[tuple[str, int]] = field(default_factory=list)  # (event type, our status)
    sent: list[dict[str, Any]] = field(default_factory=list)  # the events, as posted
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _Bad(Exception):
    def __init__(self, field_: str, problem: str) -> None:
        super().__init__(f"{field_}: {problem}")
        self.field = field_
        self.problem = problem


def _error(text: str, errors: Mapping[str, list[str]] | None = None) -> Any:
    exception: dict[str, Any] = {"messageId": "BAD_REQUEST", "text": text}
    if errors:
        exception["validationErrors"] = dict(errors)
    return {"requestError": {"serviceException": exception}}


def _stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def _keys(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _Bad("body", "must be an object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _Bad(unknown[0], "is not a known property")
    return body


def _text(body: Mapping[str, Any], name: str, most: int, where: str = "") -> str:
    value = body.get(name)
    field_ = f"{where}{name}"
    if not isinstance(value, str) or not value.strip():
        raise _Bad(field_, "must not be blank")
    if len(value) > most:
        raise _Bad(field_, f"size must be between 1 and {most}")
    return value


def _whole(body: Mapping[str, Any], name: str, *, required: bool, least: int = 1) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _Bad(name, "must not be null")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _Bad(name, f"must be a whole number of at least {least}")
    return value


def _custom(body: Mapping[str, Any]) -> dict[str, str] | None:
    custom = body.get("customData")
    if custom is None:
        return None
    if not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values()):
        raise _Bad("customData", "must be an object of strings")
    return custom


def _answer_body(body: Any) -> dict[str, Any]:
    checked = _keys(body, frozenset({"customData", "recording"}))
    _custom(checked)
    return checked


def _say_body(body: Any) -> dict[str, Any]:
    checked = _keys(body, frozenset({"text", "language", "speechRate", "loopCount", "preferences"}))
    _text(checked, "text", _TEXT)
    _text(checked, "language", _LANGUAGE)
    _whole(checked, "loopCount", required=False)
    return checked


def _capture_body(body: Any) -> dict[str, Any]:
    allowed = {"maxLength", "timeout", "terminator", "digitTimeout", "playContent", "customData"}
    checked = _keys(body, frozenset(allowed))
    _whole(checked, "maxLength", required=True)
    _whole(checked, "timeout", required=True)
    _whole(checked, "digitTimeout", required=False)
    terminator = checked.get("terminator")
    if terminator is not None and (not isinstance(terminator, str) or len(terminator) != 1):
        raise _Bad("terminator", "must be one key")
    play = checked.get("playContent")
    if play is not None:
        if not isinstance(play, dict) or play.get("type") != "TEXT":
            raise _Bad("playContent.type", "the stand-in plays TEXT content")
        _keys(play, frozenset({"type", "text", "language", "speechRate", "preferences"}))
        _text(play, "text", _TEXT, "playContent.")
        _text(play, "language", _LANGUAGE, "playContent.")
    _custom(checked)
    return checked


def _hangup_body(body: Any) -> dict[str, Any]:
    checked = _keys(body, frozenset({"errorCode"}))
    code = checked.get("errorCode")
    if code is not None and not isinstance(code, str):
        raise _Bad("errorCode", "must be a call error code")
    return checked


_ACTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "answer": _answer_body,
    "say": _say_body,
    "capture/dtmf": _capture_body,
    "hangup": _hangup_body,
}


class CallsStandin:
    """The Calls API part of the Infobip stand-in (see the module doc). `gate` answers an
    injected failure or a 401 before anything is checked; `session` posts the events."""

    def __init__(
        self,
        gate: Callable[[web.Request], web.Response | None],
        session: Callable[[], aiohttp.ClientSession | None],
        *,
        event_delay: float = 0.0,
    ) -> None:
        self._gate = gate
        self._session = session
        self.event_delay = event_delay
        self.calls: dict[str, Call] = {}
        self.requests: list[tuple[str, str, int]] = []  # (call id, action, our answer)
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self, app: web.Application) -> None:
        for action in _ACTIONS:
            app.router.add_post(f"/calls/1/calls/{{callId}}/{action}", self._endpoint(action))

    # --- the person's side ---

    async def place_call(
        self, url: str, from_: str, to: str, *, digits: Sequence[str] = (), call_id: str = ""
    ) -> Call:
        """Dial `to` from `from_`: CALL_RECEIVED is posted to `url` (and awaited); each
        capture is answered with the next of `digits` (HANG_UP: the caller hangs up)."""
        call = Call(
            id=call_id or str(uuid.uuid4()),
            caller=from_.removeprefix("+"),
            number=to.removeprefix("+"),
            url=url,
            script=list(digits),
        )
        self.calls[call.id] = call
        await self._post(call, "CALL_RECEIVED", {"call": self._call_properties(call)})
        return call

    def hang_up(self, call_id: str) -> None:
        """The caller hangs up now."""
        self._event(self.calls[call_id], "CALL_FINISHED", self._finished(self.calls[call_id]))

    async def repost(self, call_id: str, index: int = -1) -> int:
        """Post a call's `index`-th event again, exactly as it was (Infobip retries an event
        its receiver did not take); our status."""
        call = self.calls[call_id]
        return await self._send(call, call.sent[index])

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- the API ---

    def _endpoint(self, action: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            call_id = request.match_info["callId"]
            status, answer = await self._handle(request, action, call_id)
            self.requests.append((call_id, action, status))
            return web.json_response(answer, status=status)

        return handle

    async def _handle(self, request: web.Request, action: str, call_id: str) -> tuple[int, Any]:
        refused = self._gate(request)
        if refused is not None:
            return refused.status, json.loads(refused.text or "{}")
        if request.content_type != "application/json":
            return 415, _error(f"Content type '{request.content_type}' not supported")
        try:
            body = _ACTIONS[action](json.loads(await request.read()))
        except ValueError:
            return 400, _error("Bad request")
        except _Bad as bad:
            return 400, _error("Bad request", {bad.field: [bad.problem]})
        call = self.calls.get(call_id)
        if call is None or call.state == "FINISHED":
            return 404, _error("Call not found.")
        if action != "answer" and action != "hangup" and call.state != "ESTABLISHED":
            return 400, _error("Call is not established.")
        call.actions.append((action, body))
        if action == "answer":
            call.state = "ESTABLISHED"
            self._event(call, "CALL_ESTABLISHED", {"call": self._call_properties(call)})
        elif action == "say":
            call.said.append(body["text"])
            self._event(call, "SAY_FINISHED", {"duration": 1800, "playedCompletely": True})
        elif action == "capture/dtmf":
            play = body.get("playContent")
            if isinstance(play, dict):
                call.said.append(play["text"])
            self._capture(call, body)
        else:
            self._event(call, "CALL_FINISHED", self._finished(call, source="API"))
        return 200, {"status": "PENDING"}

    def _capture(self, call: Call, body: Mapping[str, Any]) -> None:
        answer = call.script.pop(0) if call.script else ""
        if answer == HANG_UP:
            self._event(call, "CALL_FINISHED", self._finished(call))
            return
        if answer == SILENT:
            return
        keys = answer[: int(body["maxLength"])]
        properties: dict[str, Any] = {
            "dtmf": keys,
            "timeout": not keys,
            "playedContentProperties": {"duration": 2400, "playedCompletely": True},
        }
        custom = body.get("customData")
        if custom:
            properties["customData"] = custom
        self._event(call, "DTMF_CAPTURED", properties)

    # --- events ---

    def _call_properties(self, call: Call) -> dict[str, Any]:
        return {
            "id": call.id,
            "endpoint": {"type": "PHONE", "phoneNumber": call.caller},
            "from": call.caller,
            "to": call.number,
            "direction": "INBOUND",
            "state": call.state,
            "media": {"audio": {"muted": False, "userMuted": False, "deaf": False}},
            "startTime": _stamp(),
        }

    def _finished(self, call: Call, source: str = "ENDPOINT") -> dict[str, Any]:
        call.state = "FINISHED"
        return {
            "callLog": {
                "callId": call.id,
                "from": call.caller,
                "to": call.number,
                "direction": "INBOUND",
                "state": "FINISHED",
                "endTime": _stamp(),
                "duration": 12,
                "hangupSource": source,
                "errorCode": _ERRORS["NORMAL_HANGUP"],
            }
        }

    def _event(self, call: Call, kind: str, properties: dict[str, Any]) -> None:
        """Post an event of the call after `event_delay`, after its earlier ones."""
        task = asyncio.get_running_loop().create_task(self._later(call, kind, properties))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, call: Call, kind: str, properties: dict[str, Any]) -> None:
        async with call.lock:
            if self.event_delay:
                await asyncio.sleep(self.event_delay)
            await self._post(call, kind, properties)

    async def _post(self, call: Call, kind: str, properties: dict[str, Any]) -> int:
        event = {
            "type": kind,
            "callId": call.id,
            "timestamp": _stamp(),
            "callsConfigurationId": "tidings-standin",
            "platform": {"applicationId": "tidings-standin"},
            "properties": properties,
        }
        call.sent.append(event)
        return await self._send(call, event)

    async def _send(self, call: Call, event: dict[str, Any]) -> int:
        session = self._session()
        assert session is not None, "the stand-in is not started"
        body = json.dumps(event).encode()
        try:
            async with session.post(
                call.url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = 0
        call.posted.append((event["type"], status))
        return status
