"""What an inbound call's events change (`POST /webhooks/{token}/inbound`, Infobip's Calls
API: channels/infobip_calls.py). The journey engine stays the owner of the flow; a call
only starts it and reports its voice messages:

- CALL_RECEIVED: the caller's person is found (or created) by phone, as for an inbound
  SMS, and the call is kept (`ringing`, store/live_calls.py). When an active flow enters
  on calls to the number (an `inbound` entry of channel `voice`), Tidings answers it (an
  `answer` action the dispatcher sends); otherwise it hangs up: no flow takes the call.
  A provider that takes the webhook's reply as the answer (Twilio, `CallEvent.answered`:
  channels/twilio_calls.py) gets no action: the call is established at once, or `ended`
  (the reply rejects it); `state` tells the webhook which reply to give.
- CALL_ESTABLISHED: the call is `answered`, and the caller's `message.received` event
  (`channel` voice, `from`, `to`, text "") enters them into that flow. From then on a
  `voice_call` element they reach acts on this call instead of dialling out
  (engine/calls.py), and the engine hangs up once their journey has left voice elements.
- SAY_FINISHED (a `voice_call` without `collect`) or DTMF_CAPTURED (with `collect`): the
  report of the voice message the call is playing: `delivered`, with the digits pressed.
  The element takes `collected` (the digits into `collect.variable`) or `answered`.
- CALL_FINISHED / CALL_FAILED: the call is `ended`; a voice message it was playing is
  `failed` ("the caller hung up"): the element takes `notAnswered`.

An event of a call the connection never received is refused (404) and changes nothing; a
repeated event (the same type, call and timestamp) changes nothing, and neither does a
late one (a report of a message the call no longer plays, a state the call has left).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from tidings.channels.infobip_calls import (
    ACTED_ON,
    CAPTURED,
    ESTABLISHED,
    FAILED,
    FINISHED,
    RECEIVED,
    SAID,
    CallEvent,
)
from tidings.channels.providers import Report
from tidings.domain.errors import NotFound
from tidings.services import deliveries
from tidings.services.inbound import event_item, number, person_of
from tidings.store import changes, idempotency, live_calls, outbox
from tidings.store.connections import ConnectionRow
from tidings.store.live_calls import LIVE, LiveCall

SCOPE = "call-event"
HUNG_UP = "the caller hung up"


def record(
    conn: Connection,
    connection: ConnectionRow,
    events: Sequence[CallEvent],
    now: int,
    *,
    partitions: int,
) -> int:
    """Apply the events (see the module doc); answer how many changed anything."""
    account = connection.account_id
    changed = 0
    for event in events:
        if event.type not in ACTED_ON:
            continue
        key = f"{connection.id}:{event.call_id}:{event.type}:{event.timestamp}"
        if event.timestamp and len(key) <= idempotency.MAX_KEY:
            if idempotency.recall(conn, account, SCOPE, key, now) is not None:
                continue
            idempotency.remember(conn, account, SCOPE, key, 200, {}, now)
        if event.type == RECEIVED:
            changed += _received(conn, connection, event, now, partitions)
            continue
        call = live_calls.read_call(conn, account, connection.id, event.call_id)
        if call is None:
            raise NotFound(f"no call {event.call_id!r} came through this connection")
        if event.type == ESTABLISHED:
            changed += _established(conn, call, now, partitions)
        elif event.type in (SAID, CAPTURED):
            changed += _reported(conn, connection, call, event, now, partitions)
        elif event.type in (FINISHED, FAILED):
            changed += _finished(conn, connection, call, event, now, partitions)
    return changed


def state(conn: Connection, connection: ConnectionRow, call_id: str) -> str | None:
    """The call's state (`ringing`, `answered`, `ending`, `ended`), None when this
    connection never received it: what a provider that answers in the webhook's reply
    (Twilio's TwiML) says next."""
    call = live_calls.read_call(conn, connection.account_id, connection.id, call_id)
    return None if call is None else call.state


def _received(
    conn: Connection, connection: ConnectionRow, event: CallEvent, now: int, partitions: int
) -> int:
    account = connection.account_id
    if live_calls.read_call(conn, account, connection.id, event.call_id) is not None:
        return 0  # received before
    caller, ours = number(event.caller or ""), number(event.number or "")  # both given
    call = LiveCall(
        account_id=account,
        person_id=person_of(conn, account, caller, now),
        connection_id=connection.id,
        call_id=event.call_id,
        caller=caller,
        number=ours,
        state="ringing",
        message_id=None,
    )
    live_calls.create_call(conn, call, now)
    takes = live_calls.takes_calls(conn, account, ours)
    if event.answered:  # the webhook's reply answers (or rejects) the call
        if takes:
            _established(conn, call, now, partitions)
        else:
            live_calls.move_call(
                conn, account, connection.id, call.call_id, "ended", now, leaving=("ringing",)
            )
    elif takes:
        outbox.insert_outbox(conn, [live_calls.action_row(call, "answer", now)])
    else:  # no active flow takes calls to this number
        live_calls.move_call(
            conn, account, connection.id, call.call_id, "ending", now, leaving=("ringing",)
        )
        outbox.insert_outbox(conn, [live_calls.action_row(call, "hangup", now)])
    return 1


def _established(conn: Connection, call: LiveCall, now: int, partitions: int) -> int:
    moved = live_calls.move_call(
        conn,
        call.account_id,
        call.connection_id,
        call.call_id,
        "answered",
        now,
        leaving=("ringing",),
    )
    if not moved:
        return 0
    properties = {"channel": "voice", "from": call.caller, "to": call.number, "text": ""}
    properties["keyword"] = ""
    item = event_item(
        call.account_id, call.person_id, "message.received", properties, now, partitions
    )
    changes.enqueue(conn, [item])
    return 1


def _reported(
    conn: Connection,
    connection: ConnectionRow,
    call: LiveCall,
    event: CallEvent,
    now: int,
    partitions: int,
) -> int:
    """The voice message the call plays was said (and its digits captured)."""
    playing = call.message_id
    if playing is None:
        return 0  # nothing of ours is playing: a late or repeated event
    if event.message_id is not None and event.message_id != str(playing):
        return 0  # a capture of an earlier message
    if event.type == SAID and call.capturing:
        return 0  # the capture's own DTMF_CAPTURED reports it
    if not live_calls.forget_message(
        conn, call.account_id, call.connection_id, call.call_id, playing, now
    ):
        return 0
    report = Report(str(playing), "delivered", digits=event.digits or None)
    return deliveries.record(conn, connection, [report], now, partitions=partitions)


def _finished(
    conn: Connection,
    connection: ConnectionRow,
    call: LiveCall,
    event: CallEvent,
    now: int,
    partitions: int,
) -> int:
    ended = live_calls.move_call(
        conn,
        call.account_id,
        call.connection_id,
        call.call_id,
        "ended",
        now,
        leaving=LIVE,
        forget_message=True,
    )
    if not ended:
        return 0
    if call.message_id is None:
        return 1
    if event.hangup_source in (None, "ENDPOINT"):
        reason = HUNG_UP
    else:
        reason = f"the call ended: {event.error or event.hangup_source}"
    report = Report(str(call.message_id), "failed", reason=reason)
    deliveries.record(conn, connection, [report], now, partitions=partitions)
    return 1
