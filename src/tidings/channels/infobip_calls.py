"""Infobip's Calls API for inbound calls in IVR: the requests that act on a live call, and
the call events Infobip posts back, in Infobip's own shapes (infobip-api-java-client 6.x:
`CallsApi`, `CallsSayRequest`, `CallsDtmfCaptureRequest`, `CallsTextPlayContent`,
`CallsEvent` and its `CallReceivedEvent`, `CallEstablishedEvent`, `CallsSayFinishedEvent`,
`CallsDtmfCapturedEvent`, `CallFinishedEvent`, `CallFailedEvent`).

Requests (each `POST {baseUrl}/calls/1/calls/{callId}/...`, `Authorization: App {apiKey}`,
answered `{"status": "PENDING"}`); a voice message that acts on a call carries
`content["call"] = {"id": callId, "action": ...}` (engine/calls.py puts it there):

- `answer`: `/answer`, body `{}`.
- `say` (a `voice_call` without `collect`): `/say` with `{"text", "language"}`; the call
  posts SAY_FINISHED when it has been said.
- `say` with `collect`: `/capture/dtmf` with `{"maxLength", "timeout", "terminator": "#",
  "playContent": {"type": "TEXT", "text", "language"}, "customData": {"tidingsMessageId"}}`:
  the text is the capture's prompt (Infobip plays it and then waits `timeout`
  milliseconds for the first key), in one request, so the caller can key in while it is
  said and no key is lost between a say and a capture. DTMF_CAPTURED carries the digits
  (`properties.dtmf`, or `timeout: true`) and our `customData` back.
- `hangup`: `/hangup`, body `{}`.

Events arrive at the connection's inbound webhook (the URL the Calls configuration's
subscription names), one JSON object each: `{"type", "callId", "timestamp",
"properties": {...}}`. Infobip does not sign them: the unguessable token in the URL is the
authentication, as for Infobip's other callbacks; services/calls.py then takes only events
of calls of that connection. A body that is not a Calls event (`results[]`: an SMS,
WhatsApp or Viber message) is not one of these (`call_events` answers None).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from tidings.channels.providers import Callback, CallbackRefused, Outgoing, collect_seconds

CALLS_PATH = "/calls/1/calls/"
ACTIONS = ("answer", "say", "hangup")
TERMINATOR = "#"
MESSAGE_KEY = "tidingsMessageId"  # our outbox id, in a capture's customData
KEYS = frozenset("0123456789*#ABCD")  # what a DTMF capture can hold

# The events Tidings acts on; any other Calls event (CALL_RINGING, CALL_PRE_ESTABLISHED,
# PLAY_FINISHED, ...) is taken and changes nothing.
RECEIVED = "CALL_RECEIVED"
ESTABLISHED = "CALL_ESTABLISHED"
SAID = "SAY_FINISHED"
CAPTURED = "DTMF_CAPTURED"
FINISHED = "CALL_FINISHED"
FAILED = "CALL_FAILED"
ACTED_ON = frozenset({RECEIVED, ESTABLISHED, SAID, CAPTURED, FINISHED, FAILED})


class CallActionInvalid(ValueError):
    """A call action Infobip cannot take (a missing call id, text or digits setting)."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One Calls API event, as much of it as Tidings uses."""

    type: str  # Infobip's event type, e.g. DTMF_CAPTURED
    call_id: str
    timestamp: str = ""  # as Infobip wrote it: with the type and call, the event's identity
    caller: str | None = None  # CALL_RECEIVED: the caller's number (E.164 with "+")
    number: str | None = None  # CALL_RECEIVED: our number that was called
    digits: str | None = None  # DTMF_CAPTURED (or SAY_FINISHED's capturedDtmf)
    timed_out: bool = False  # DTMF_CAPTURED: no key before the timeout
    message_id: str | None = None  # our outbox id, from the event's customData
    hangup_source: str | None = None  # CALL_FINISHED: ENDPOINT (the caller), API, PLATFORM
    error: str | None = None  # CALL_FINISHED / CALL_FAILED: the error code's name
    # CALL_RECEIVED: the provider takes our reply to this very request as the call's answer
    # (Twilio: the webhook answers TwiML), so no `answer` action is sent and the call is
    # established at once (or rejected in the same reply when no flow takes it)
    answered: bool = False


# --- requests ------------------------------------------------------------------------------


def call_request(message: Outgoing) -> tuple[str, dict[str, Any]]:
    """The path (under the base URL) and JSON body of a voice message that acts on a live
    call (`content["call"]`); CallActionInvalid when it cannot be made."""
    call = message.content.get("call")
    if not isinstance(call, Mapping):
        raise CallActionInvalid("voice: the call is missing")
    call_id, action = call.get("id"), call.get("action", "say")
    if not isinstance(call_id, str) or not call_id.strip():
        raise CallActionInvalid("voice: the call has no id")
    if action not in ACTIONS:
        raise CallActionInvalid(f"voice: unknown call action {action!r}")
    base = CALLS_PATH + quote(call_id, safe="")
    if action == "answer":
        return f"{base}/answer", {}
    if action == "hangup":
        return f"{base}/hangup", {}
    text = message.content.get("say")
    if not isinstance(text, str) or not text.strip():
        raise CallActionInvalid("voice: say is missing")
    language = str(message.content.get("language") or "en")
    collect = message.content.get("collect")
    if not isinstance(collect, Mapping):
        return f"{base}/say", {"text": text, "language": language}
    digits = collect.get("maxDigits", 1)
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise CallActionInvalid("voice: collect.maxDigits must be a positive whole number")
    try:
        seconds = collect_seconds(collect.get("timeout", "PT5S"))
    except ValueError as exc:
        raise CallActionInvalid(f"voice: {exc}") from None
    body = {
        "maxLength": digits,
        "timeout": seconds * 1000,
        "terminator": TERMINATOR,
        "playContent": {"type": "TEXT", "text": text, "language": language},
        "customData": {MESSAGE_KEY: message.id},
    }
    return f"{base}/capture/dtmf", body


def is_call_action(message: Outgoing) -> bool:
    return message.channel == "voice" and "call" in message.content


# --- events ----------------------------------------------------------------------------------


def call_events(callback: Callback) -> list[CallEvent] | None:
    """The Calls API event in a callback to the inbound webhook; None when the body is not
    a Calls event (an inbound message's `results[]`). A malformed one raises
    `CallbackRefused` naming the field."""
    media = callback.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        return None  # not JSON: not a Calls event (the inbound parser says what it is)
    try:
        data = json.loads(callback.body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "results" in data or "type" not in data:
        return None
    kind = data["type"]
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 64:
        raise CallbackRefused("type", "type must be a Calls event type")
    properties = data.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise CallbackRefused("properties", "properties must be an object")
    call_id = _call_id(data, properties)
    timestamp = _optional(data, "timestamp", "timestamp") or ""
    event = CallEvent(kind, call_id, timestamp)
    if kind == RECEIVED:
        return [_received(event, properties)]
    if kind == CAPTURED:
        return [_captured(event, properties)]
    if kind == SAID:
        digits = _optional(properties, "capturedDtmf", "properties.capturedDtmf")
        return [_with_custom(replace(event, digits=digits or None), properties)]
    if kind in (FINISHED, FAILED):
        return [_finished(event, properties)]
    return [event]


def _call_id(data: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    call_id = data.get("callId")
    if call_id is None:
        call = properties.get("call")
        call_id = call.get("id") if isinstance(call, dict) else None
    if not isinstance(call_id, str) or not call_id.strip():
        raise CallbackRefused("callId", "callId must be a non-empty string")
    if len(call_id) > 128:
        raise CallbackRefused("callId", "callId is longer than 128 characters")
    return call_id


def _optional(item: Mapping[str, Any], name: str, field: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CallbackRefused(field, f"{name} must be a string")
    return value


def _number(value: str) -> str:
    """`+` before a bare international number (8 to 15 digits), as the SMS callbacks."""
    bare = value.strip()
    return f"+{bare}" if bare.isdigit() and 8 <= len(bare) <= 15 else bare


def _received(event: CallEvent, properties: Mapping[str, Any]) -> CallEvent:
    call = properties.get("call")
    where = "properties.call"
    if not isinstance(call, dict):
        raise CallbackRefused(where, "a CALL_RECEIVED event names its call")
    direction = _optional(call, "direction", f"{where}.direction")
    if direction is not None and direction != "INBOUND":
        raise CallbackRefused(f"{where}.direction", "a received call is INBOUND")
    caller = _optional(call, "from", f"{where}.from")
    endpoint = call.get("endpoint")
    if not caller and isinstance(endpoint, dict):
        caller = _optional(endpoint, "phoneNumber", f"{where}.endpoint.phoneNumber")
    if not caller or not caller.strip():
        raise CallbackRefused(f"{where}.from", "the caller's number is missing")
    number = _optional(call, "to", f"{where}.to")
    if not number or not number.strip():
        raise CallbackRefused(f"{where}.to", "the called number is missing")
    if len(caller) > 64 or len(number) > 64:
        raise CallbackRefused(where, "a number is longer than 64 characters")
    own_id = call.get("id")
    if own_id is not None and own_id != event.call_id:
        raise CallbackRefused(f"{where}.id", "the call's id is not the event's callId")
    return replace(event, caller=_number(caller), number=_number(number))


def _with_custom(event: CallEvent, properties: Mapping[str, Any]) -> CallEvent:
    custom = properties.get("customData")
    if custom is None:
        return event
    if not isinstance(custom, dict):
        raise CallbackRefused("properties.customData", "customData must be an object")
    ours = _optional(custom, MESSAGE_KEY, f"properties.customData.{MESSAGE_KEY}")
    return replace(event, message_id=ours) if ours else event


def _captured(event: CallEvent, properties: Mapping[str, Any]) -> CallEvent:
    digits = _optional(properties, "dtmf", "properties.dtmf")
    if digits is not None and (len(digits) > 64 or not set(digits) <= KEYS):
        raise CallbackRefused("properties.dtmf", "dtmf must be the keys pressed")
    timed_out = properties.get("timeout", False)
    if timed_out is None:
        timed_out = False
    if not isinstance(timed_out, bool):
        raise CallbackRefused("properties.timeout", "timeout must be true or false")
    if digits is not None:
        digits = digits.rstrip(TERMINATOR) or None
    return _with_custom(replace(event, digits=digits, timed_out=timed_out), properties)


def _finished(event: CallEvent, properties: Mapping[str, Any]) -> CallEvent:
    log = properties.get("callLog")
    if log is None:
        return event
    if not isinstance(log, dict):
        raise CallbackRefused("properties.callLog", "callLog must be an object")
    source = _optional(log, "hangupSource", "properties.callLog.hangupSource")
    error = log.get("errorCode")
    name: str | None = None
    if isinstance(error, dict):
        name = _optional(error, "name", "properties.callLog.errorCode.name")
    elif error is not None:
        raise CallbackRefused("properties.callLog.errorCode", "errorCode must be an object")
    duration = log.get("duration")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not math.isfinite(duration)
    ):
        raise CallbackRefused("properties.callLog.duration", "duration must be a number")
    return replace(event, hangup_source=source, error=name)
