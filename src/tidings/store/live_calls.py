"""Inbound calls while they last (DESIGN.md, Channels and providers; services/calls.py).

A call to one of an Infobip connection's numbers is a row from its CALL_RECEIVED event
until it ends: `ringing` -> `answered` (Tidings answered it and the caller entered the
flow) -> `ending` (Tidings hung up) -> `ended` (CALL_FINISHED, or the caller hung up).
Each transition is an UPDATE guarded by the states it leaves, so a repeated event
changes nothing. `message_id` is the voice message the call is playing (set when the
dispatcher claims it, cleared by its report), so the call's SAY_FINISHED,
DTMF_CAPTURED or hang-up reports that message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, insert, or_, select, update

from tidings.domain.inbound import normal_number
from tidings.domain.lifecycle import Status
from tidings.store.tables import flow_versions, live_calls

STATES = ("ringing", "answered", "ending", "ended")
LIVE = ("ringing", "answered", "ending")


class LiveCall(NamedTuple):
    account_id: int
    person_id: int
    connection_id: int
    call_id: str
    caller: str
    number: str
    state: str
    message_id: int | None
    capturing: bool = False


_COLUMNS = (
    live_calls.c.account_id,
    live_calls.c.person_id,
    live_calls.c.connection_id,
    live_calls.c.call_id,
    live_calls.c.caller,
    live_calls.c.number,
    live_calls.c.state,
    live_calls.c.message_id,
    live_calls.c.capturing,
)


def _call(row: Any) -> LiveCall:
    return LiveCall(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        str(row[6]),
        None if row[7] is None else int(row[7]),
        bool(row[8]),
    )


def create_call(conn: Connection, call: LiveCall, now: int) -> None:
    """A call just received (the caller `call.person_id`)."""
    conn.execute(
        insert(live_calls).values(
            account_id=call.account_id,
            person_id=call.person_id,
            connection_id=call.connection_id,
            call_id=call.call_id,
            caller=call.caller[:64],
            number=call.number[:64],
            state=call.state,
            message_id=call.message_id,
            capturing=call.capturing,
            started_at=now,
            updated_at=now,
        )
    )


def read_call(
    conn: Connection, account_id: int, connection_id: int, call_id: str
) -> LiveCall | None:
    """The call `call_id` of this connection, or None."""
    row = conn.execute(
        select(*_COLUMNS).where(
            live_calls.c.connection_id == connection_id,
            live_calls.c.call_id == call_id,
            live_calls.c.account_id == account_id,
        )
    ).first()
    return None if row is None else _call(row)


def move_call(
    conn: Connection,
    account_id: int,
    connection_id: int,
    call_id: str,
    state: str,
    now: int,
    *,
    leaving: Sequence[str],
    forget_message: bool = False,
) -> bool:
    """Move the call to `state` if it is in one of `leaving`; whether it moved."""
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if forget_message:
        values["message_id"] = None
        values["capturing"] = False
    moved = conn.execute(
        update(live_calls)
        .where(
            live_calls.c.connection_id == connection_id,
            live_calls.c.call_id == call_id,
            live_calls.c.account_id == account_id,
            live_calls.c.state.in_(list(leaving)),
        )
        .values(**values)
    )
    return bool(moved.rowcount)


def forget_message(
    conn: Connection, account_id: int, connection_id: int, call_id: str, message_id: int, now: int
) -> bool:
    """The call is done with `message_id` (its report came); whether it was playing it."""
    done = conn.execute(
        update(live_calls)
        .where(
            live_calls.c.connection_id == connection_id,
            live_calls.c.call_id == call_id,
            live_calls.c.account_id == account_id,
            live_calls.c.message_id == message_id,
        )
        .values(message_id=None, capturing=False, updated_at=now)
    )
    return bool(done.rowcount)


def play(conn: Connection, playing: Iterable[tuple[int, int, str, int, bool]], now: int) -> None:
    """(account, connection, call id, outbox id, capturing): the calls now play these voice
    messages (the dispatcher claimed them), if they are still answered."""
    for account_id, connection_id, call_id, message_id, capturing in playing:
        conn.execute(
            update(live_calls)
            .where(
                live_calls.c.connection_id == connection_id,
                live_calls.c.call_id == call_id,
                live_calls.c.account_id == account_id,
                live_calls.c.state == "answered",
            )
            .values(message_id=message_id, capturing=capturing, updated_at=now)
        )


def answered_of(conn: Connection, people: Iterable[tuple[int, int]]) -> list[LiveCall]:
    """The answered calls of these (account, person), oldest first."""
    wanted = sorted(set(people))
    out: list[LiveCall] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(*_COLUMNS)
            .where(
                live_calls.c.state == "answered",
                or_(
                    *(
                        and_(live_calls.c.account_id == a, live_calls.c.person_id == p)
                        for a, p in chunk
                    )
                ),
            )
            .order_by(live_calls.c.started_at)
        )
        out += [_call(r) for r in rows]
    return out


def quiet_answered(conn: Connection, before: int, limit: int = 500) -> list[LiveCall]:
    """Answered calls nothing has happened on since `before` (the engine's sweep)."""
    rows = conn.execute(
        select(*_COLUMNS)
        .where(live_calls.c.state == "answered", live_calls.c.updated_at <= before)
        .order_by(live_calls.c.updated_at)
        .limit(limit)
    )
    return [_call(r) for r in rows]


def takes_calls(conn: Connection, account_id: int, number: str) -> bool:
    """Whether an active version of the account enters on calls to `number` (an `inbound`
    entry of channel `voice`; numbers compare as the entries match them)."""
    wanted = normal_number(number)
    rows = conn.execute(
        select(flow_versions.c.document).where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.status == Status.active.value,
        )
    )
    for (document,) in rows:
        entry: Any = (document or {}).get("entry") or {}
        if (
            entry.get("type") == "inbound"
            and entry.get("channel") == "voice"
            and isinstance(entry.get("number"), str)
            and normal_number(entry["number"]) == wanted
        ):
            return True
    return False


def action_row(call: LiveCall, action: str, now: int) -> dict[str, Any]:
    """The outbox row (kind `call`, through the call's connection) that answers or hangs
    up the call: the dispatcher sends it (channels/infobip_calls.py), and it has no report."""
    payload = {
        "to": call.caller,
        "from": call.number,
        "content": {"call": {"id": call.call_id, "action": action}},
        "parts": 1,
        "wantsResult": False,
    }
    return {
        "account_id": call.account_id,
        "participation_id": None,
        "flow_id": None,
        "version": None,
        "element": None,
        "person_id": call.person_id,
        "created_at": now,
        "next_attempt_at": now,
        "kind": "call",
        "channel": "voice",
        "payload": payload,
        "connection_id": call.connection_id,
    }
