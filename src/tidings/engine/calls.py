"""Voice elements on a live inbound call (DESIGN.md, Channels and providers; the call's
events: services/calls.py). The journey stays the engine's: the step function emits the
same `SendMessage` for a `voice_call` as for an outbound call, and this module, in the
batch's write, decides what it does with a caller on the line:

- `on_calls`: a voice message of a person with an answered call goes through that call
  (its connection, `content["call"]`): the provider says the text on it, and collects the
  digits, instead of dialling out. Its report is the call's SAY_FINISHED / DTMF_CAPTURED
  (or the caller's hang-up), so the element's outcomes and `collect.variable` work as for
  an outbound call.
- `playing`: when the dispatcher claims such a message, the call records it as the one it
  plays (before the request, so no event of it can come first).
- `hang_up_idle`: after a batch, a person with an answered call whose live journeys are
  no longer at a voice element (they went on to a wait, or ended, or never entered) is
  hung up on: a `hangup` action through the call's connection.
- `quiet_callers`: the engine's idle sweep finds answered calls nothing happened on for
  `QUIET` whose people are at no voice element (their version was canceled or finished
  set-based, say), and hangs them up the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.domain.journey import Phase
from tidings.domain.journey.elements.calls import Voice
from tidings.store import live_calls, outbox
from tidings.store.participations import Row, live_of
from tidings.store.provider_outbox import Claimed

QUIET = 60 * 1_000_000  # an answered call with nothing on it this long is looked at


def on_calls(conn: Connection, rows: Sequence[dict[str, Any]], accounts: frozenset[int]) -> None:
    """Route the voice messages among a batch's outbox rows (`outbox.message_row`'s
    shape) of people with an answered call through that call (see the module doc)."""
    voice = [
        r
        for r in rows
        if r["kind"] == "message"
        and r["channel"] == "voice"
        and r["account_id"] in accounts
        and r["person_id"] is not None
    ]
    if not voice:
        return
    calls: dict[tuple[int, int], live_calls.LiveCall] = {}
    for call in live_calls.answered_of(conn, ((r["account_id"], r["person_id"]) for r in voice)):
        calls[(call.account_id, call.person_id)] = call  # the newest answered call wins
    for row in voice:
        found = calls.get((row["account_id"], row["person_id"]))
        if found is None:
            continue
        payload = dict(row["payload"])
        content = dict(payload.get("content") or {})
        content["call"] = {"id": found.call_id, "action": "say"}
        payload["content"] = content
        payload.pop("connection", None)  # the call's connection, whatever the element named
        row["payload"] = payload
        row["payload_json"] = orjson.dumps(payload).decode()
        row["connection_id"] = found.connection_id


def playing(conn: Connection, claimed: Iterable[Claimed], now: int) -> None:
    """The calls now play the voice messages just claimed for them."""
    plays: list[tuple[int, int, str, int, bool]] = []
    for row in claimed:
        if row.kind != "message" or row.channel != "voice":
            continue
        content = row.payload.get("content")
        call = content.get("call") if isinstance(content, Mapping) else None
        if not isinstance(call, Mapping) or not isinstance(call.get("id"), str):
            continue
        capturing = isinstance(content, Mapping) and isinstance(content.get("collect"), Mapping)
        plays.append((row.account_id, row.connection_id, call["id"], row.id, capturing))
    if plays:
        live_calls.play(conn, plays, now)


def hang_up_idle(
    conn: Connection,
    callers: Iterable[tuple[int, int]],
    live: Mapping[int, Iterable[Row]],
    programs: Mapping[tuple[int, int], Any],
    now: int,
) -> int:
    """Hang up the answered calls of `callers` (account, person: people a stimulus moved
    in this batch, so every live participation of theirs is in `live`, by person) whose
    participations are not at a voice element; answer how many."""
    ended = 0
    rows: list[dict[str, Any]] = []
    for call in live_calls.answered_of(conn, callers):
        if any(_at_voice(row, programs) for row in live.get(call.person_id, ())):
            continue
        moved = live_calls.move_call(
            conn,
            call.account_id,
            call.connection_id,
            call.call_id,
            "ending",
            now,
            leaving=("answered",),
        )
        if moved:
            rows.append(live_calls.action_row(call, "hangup", now))
            ended += 1
    outbox.insert_outbox(conn, rows)
    return ended


def _at_voice(row: Row, programs: Mapping[tuple[int, int], Any]) -> bool:
    if row.phase != Phase.waiting.value or row.element is None:
        return False
    compiled = programs.get((row.flow_id, row.version))
    if compiled is None:
        return False
    return isinstance(compiled.program.handlers.get(row.element), Voice)


def quiet_callers(
    conn: Connection, programs: Mapping[tuple[int, int], Any], now: int
) -> tuple[set[tuple[int, int]], dict[int, list[Row]]]:
    """(account, person) of answered calls quiet for `QUIET` whose people are at no voice
    element, and their live participations (for `hang_up_idle`): a read."""
    quiet = live_calls.quiet_answered(conn, now - QUIET)
    if not quiet:
        return set(), {}
    people = {(c.account_id, c.person_id) for c in quiet}
    live: dict[int, list[Row]] = {}
    for row in live_of(conn, people):
        live.setdefault(row.person_id, []).append(row)
    idle = {(a, p) for a, p in people if not any(_at_voice(r, programs) for r in live.get(p, ()))}
    return idle, live
