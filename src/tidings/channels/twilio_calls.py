"""Inbound calls in IVR through Twilio's Programmable Voice, in Twilio's own shapes: the
webhook requests of a call to one of the connection's numbers become the same call events
as Infobip's (`infobip_calls.CallEvent`, applied by services/calls.py), and a voice
message on the live call becomes Twilio's live-call update. (twilio.py's provider calls
these; the signature is checked there first.)

- **An incoming call**: Twilio POSTs the number's Voice URL (the connection's inbound
  webhook), form-encoded and signed, with `CallSid`, `From`, `To`, `CallStatus=ringing`,
  `Direction=inbound`: CALL_RECEIVED, `answered` (the webhook's reply is the answer). A
  call a live voice flow takes is answered with TwiML that keeps the caller on the line
  while the engine works (`twiml.keep_alive`: `<Pause length="10"/>` then `<Redirect>` to
  `{inbound}?wait=1`, answered the same way for as long as the call is answered); a call
  no flow takes is answered `<Reject/>`.
- **A voice message on the call** (`content["call"]`, engine/calls.py): `POST {baseUrl}/
  2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with `Twiml` (twilio-python's
  `CallContext.update`), which interrupts what the call was doing. Without `collect`:
  `<Say>` the text, then `<Redirect>` to `{inbound}?m={id}&said=1`, whose request is the
  message's report (SAY_FINISHED). With `collect`: `<Gather input="dtmf" numDigits
  timeout action="{inbound}?m={id}&gather=1" method="POST" actionOnEmptyResult="true">
  <Say>text</Say></Gather>`: the action brings `Digits` back (empty: nothing pressed in
  time) as DTMF_CAPTURED. Both are answered with the keep-alive TwiML. Each update also
  names the inbound webhook as the call's `StatusCallback`, so Twilio posts the call's
  `completed` status there even where the number's "Call status changes" is not set.
- **Hang up**: the same update with `Status=completed`. (`answer` is never sent: the
  webhook's reply answered the call.)
- **The caller hangs up**: the call's status callback (the one the updates name, or the
  number's "Call status changes" in Twilio's console, set to the same inbound webhook)
  posts `CallStatus` completed, busy, no-answer, failed or canceled: CALL_FINISHED, and
  the message the call was playing fails ("the caller hung up"). An update of a call
  that has ended is refused by Twilio (21220, or 404): that message fails all the same.
- Any other request of a call (a keep-alive redirect, `in-progress` without our marks) is
  CALL_WAITING: it changes nothing, and is answered by the call's state (keep-alive while
  it is answered, `<Hangup/>` once Tidings is done with it or never had it).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from tidings.channels import twiml
from tidings.channels.infobip_calls import (
    CAPTURED,
    FINISHED,
    KEYS,
    RECEIVED,
    SAID,
    CallActionInvalid,
    CallEvent,
)
from tidings.channels.providers import CallbackRefused, Outgoing

WAITING = "CALL_WAITING"  # a request of a live call that changes nothing
ID_PARAMETER = "m"
GATHER_PARAMETER = "gather"
SAID_PARAMETER = "said"
WAIT_PARAMETER = "wait"
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
LIVE = frozenset({"queued", "initiated", "ringing", "in-progress"})


def events(fields: Mapping[str, str], query: Mapping[str, str]) -> list[CallEvent]:
    """The call event of a (signature-checked) call request to the inbound webhook."""
    sid = fields.get("CallSid", "")
    if not sid.strip() or len(sid) > 64:
        raise CallbackRefused("CallSid", "CallSid must be a call's SID")
    status = fields.get("CallStatus", "")
    message = query.get(ID_PARAMETER)
    if query.get(GATHER_PARAMETER) == "1" or query.get(SAID_PARAMETER) == "1":
        if not message or not message.isdigit():
            raise CallbackRefused(ID_PARAMETER, "the request names no message (?m=)")
        if query.get(SAID_PARAMETER) == "1":
            return [CallEvent(SAID, sid, message_id=message)]
        digits = fields.get("Digits", "")
        if len(digits) > 64 or not set(digits) <= KEYS:
            raise CallbackRefused("Digits", "Digits must be the keys pressed")
        digits = digits.rstrip("#")
        return [
            CallEvent(
                CAPTURED, sid, digits=digits or None, timed_out=not digits, message_id=message
            )
        ]
    if status == "ringing" and query.get(WAIT_PARAMETER) != "1":
        direction = fields.get("Direction", "inbound")
        if not direction.startswith("inbound"):
            raise CallbackRefused("Direction", "an incoming call is inbound")
        caller, number = fields.get("From", "").strip(), fields.get("To", "").strip()
        if not caller:
            raise CallbackRefused("From", "the caller's number is missing")
        if not number:
            raise CallbackRefused("To", "the called number is missing")
        if len(caller) > 64 or len(number) > 64:
            raise CallbackRefused("From", "a number is longer than 64 characters")
        return [CallEvent(RECEIVED, sid, caller=caller, number=number, answered=True)]
    if status in FINAL:
        return [CallEvent(FINISHED, sid, error=None if status == "completed" else status)]
    if status in LIVE:
        return [CallEvent(WAITING, sid)]
    raise CallbackRefused("CallStatus", f"{status!r} is not a status of a call")


def reply(url: str, status: str, state: str | None) -> bytes:
    """The TwiML the webhook answers a call's request with, the call being in `state`
    (services/calls.state; None: never received): keep the caller on the line while the
    call is answered; reject a ringing call nobody takes; else hang up."""
    base = url.split("?", 1)[0]
    if state in ("ringing", "answered"):
        return twiml.keep_alive(f"{base}?{WAIT_PARAMETER}=1")
    if status == "ringing":
        return twiml.reject()
    return twiml.hang_up()


def update_path(call_id: str) -> str:
    """The live call's resource under the account's URL (`.../Calls/{CallSid}.json`)."""
    return f"/Calls/{quote(call_id, safe='')}.json"


def update_form(message: Outgoing, inbound: str) -> list[tuple[str, str]]:
    """The live-call update a voice message on a live call asks for (see the module doc);
    CallActionInvalid when it cannot be made."""
    call = message.content.get("call")
    if not isinstance(call, Mapping):
        raise CallActionInvalid("voice: the call is missing")
    call_id, action = call.get("id"), call.get("action", "say")
    if not isinstance(call_id, str) or not call_id.strip():
        raise CallActionInvalid("voice: the call has no id")
    if action == "hangup":
        return [("Status", "completed")]
    if action == "answer":
        raise CallActionInvalid("voice: Twilio calls are answered in the webhook's reply")
    if action != "say":
        raise CallActionInvalid(f"voice: unknown call action {action!r}")
    separator = "&" if "?" in inbound else "?"
    said = urlencode({ID_PARAMETER: message.id, SAID_PARAMETER: "1"})
    gathered = urlencode({ID_PARAMETER: message.id, GATHER_PARAMETER: "1"})
    try:
        document = twiml.say_document(
            message.content,
            f"{inbound}{separator}{gathered}",
            after=f"{inbound}{separator}{said}",
            on_empty=True,
        )
    except ValueError as exc:
        raise CallActionInvalid(f"voice: {exc}") from None
    return [("Twiml", document), ("StatusCallback", inbound)]
