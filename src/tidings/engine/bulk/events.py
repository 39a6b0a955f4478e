"""Set-based awaited events: the plain event people wait for moves everyone who waits
for it alike. Events are moved only while no timer is due before them, and a person's
second event in a head waits for the general path, as does anyone with element-local
state or of a version that does not run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.journey.elements.waits import WaitForEventHandler
from tidings.domain.journey.uniform import uniform_move
from tidings.engine.bulk.context import Context
from tidings.engine.bulk.moves import Cohort, apply
from tidings.engine.failures import blame
from tidings.store.changes import Changes, write_changes
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.participations import waiting_of
from tidings.store.timers import first_timer


def match_events(ctx: Context, now: datetime, limit: int, first: InboxItem) -> int:
    """Consume the longest head of the due inbox (up to `limit` stimuli, `first` the
    first of them) made of plain events that move everyone who waits for them alike;
    answer how many were consumed."""
    at = to_micros(now)
    owned = ctx.scope.owned()
    programs = ctx.programs
    by_name: dict[tuple[int, str], list[Cohort] | None] = {}
    head: list[InboxItem] = []
    seen: set[int] = set()
    with ctx.db.read() as conn:
        key = (first.account_id, str(first.payload.get("name")))
        by_name[key] = _event_cohorts(ctx, key[0], key[1], now)
        if by_name[key] is None:
            return 0
        items = due_inbox(conn, at, limit, owned)
        before = first_timer(conn, at, owned, partitions=ctx.partitions)
        for item in items:
            if item.kind != "event" or item.person_id in seen:
                break
            if before is not None and item.due_at >= before:
                break  # a timer comes first
            key = (item.account_id, str(item.payload.get("name")))
            if key not in by_name:
                by_name[key] = _event_cohorts(ctx, key[0], key[1], now)
            if by_name[key] is None or item.payload.get("store"):
                break
            head.append(item)
            seen.add(item.person_id)
        if not head:
            return 0
        waiting = waiting_of(conn, ((i.account_id, i.person_id) for i in head))
    # Everyone waiting for the event must be in a cohort of it (a running version, nothing
    # element-local); the head ends before the first person for whom that is not so.
    moved: dict[tuple[int, int, str | None], list[int]] = defaultdict(list)
    taken = 0
    for item in head:
        name = str(item.payload.get("name"))
        cohorts = {
            (c.compiled.flow_id, c.compiled.version, c.move.start): c
            for c in by_name[(item.account_id, name)] or ()
        }
        mine: list[tuple[tuple[int, int, str | None], int]] = []
        fits = True
        for pid, flow_id, version, element, stored, local, _ in waiting.get(item.person_id, ()):
            if programs.waiting_for(flow_id, version, element, stored) != name:
                continue
            compiled = programs.by_version.get((flow_id, version))
            if compiled is None or not compiled.runs:
                continue  # held (paused) or ended elsewhere: the event is not for them
            if (flow_id, version, element) not in cohorts or not _empty(local):
                fits = False
                break
            mine.append(((flow_id, version, element), pid))
        if not fits:
            break
        for start, pid in mine:
            moved[start].append(pid)
        taken += 1
    if not taken:
        return 0
    consumed = [item.id for item in head[:taken]]
    all_cohorts = {
        (c.compiled.flow_id, c.compiled.version, c.move.start): c
        for found in by_name.values()
        for c in found or ()
    }

    def write(conn: Connection) -> int:
        ctx.scope.fence(conn)
        write_changes(conn, Changes(consumed_inbox=consumed))
        for key, ids in moved.items():
            with blame(*key):
                apply(conn, all_cohorts[key], ids, at)
        return len(consumed)

    return int(ctx.db.write(write))


def _event_cohorts(ctx: Context, account_id: int, name: str, now: datetime) -> list[Cohort] | None:
    """The cohorts an event of `name` moves, when it moves each of them alike; None when
    anything else happens to it (an entry, a goal, a wait with a condition...)."""
    programs = ctx.programs
    if name.startswith("message.") or programs.event_entries.get((account_id, name)):
        return None
    if programs.goals.get((account_id, name)):
        return None
    out = []
    for compiled in programs.by_version.values():
        if compiled.account_id != account_id or not compiled.runs:
            continue
        for handler in compiled.program.handlers.values():
            if not isinstance(handler, WaitForEventHandler):
                continue
            if handler.element is not None or handler.event != name:
                continue
            with blame(compiled.flow_id, compiled.version, handler.id):
                move = uniform_move(compiled.program, handler.id, "event", now, name)
            if move is None:
                return None
            out.append(Cohort(compiled, move))
    return out


def _empty(local: Any) -> bool:
    """No element-local state: NULL (store/tables.py), or `{}` as rows had it once."""
    if isinstance(local, str | bytes):
        return local in ("{}", b"{}")
    return not local
