"""Set-based entries on events (`domain/journey/uniform.EntryPlan`).

When thousands of people send the event a flow enters on, and were never in that flow,
each of them takes one of a few paths: the entry's `where`, the `segment`s and `split`s
on the way are decided for each person with the code the step itself runs, and their
messages are composed for them (`messages.compose`), but everything else is everyone's
on that path and proved once. The engine writes each person's participation (their
variables and entry event), their outbox rows, and the trace, unique visits and
counters of each path for all who took it (`moves.record`).

What does not qualify stays in the inbox, in order, for the general path: people who
were in the flow before (the frequency cap decides), who wait for the event or have a
timer due before it, whose start traced something or whose message would not go, whose
path is not everyone's; and the head ends at an event that is not an entry (a goal, a
delivery report, a name no flow enters on) or at a person's second event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.journey import Person, admits
from tidings.domain.journey.uniform import EntryPlan, Leaf, PersonalEntry, entry_needs
from tidings.engine.bulk.context import Context
from tidings.engine.bulk.moves import (
    Cohort,
    entry_detail,
    hand_over_entered,
    move_state,
    record,
)
from tidings.engine.failures import blame
from tidings.engine.programs import Compiled
from tidings.store.changes import Changes, write_changes
from tidings.store.ids import next_ids
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.outbox import message_row
from tidings.store.participations import history, insert_alike, waiting_of
from tidings.store.snapshots import load_people
from tidings.store.timers import first_timer

Entering = tuple[InboxItem, Compiled, PersonalEntry]
PART = 2000  # entries planned while the writer commits the previous part
IN_FLIGHT = 2  # parts a round leaves with the writer while the next head is planned


def enters(ctx: Context, item: InboxItem) -> bool:
    """Whether `item` is an event that only enters flows (no goal or delivery report):
    the head it starts may go set-based (`take`)."""
    return _flows(ctx, item) is not None


def _flows(ctx: Context, item: InboxItem) -> list[Compiled] | None:
    if item.kind != "event" or item.payload.get("store"):
        return None
    name = str(item.payload.get("name"))
    key = (item.account_id, name)
    programs = ctx.programs
    if name.startswith("message.") or programs.goals.get(key):
        return None
    return programs.event_entries.get(key) or None


def take(ctx: Context, now: datetime, limit: int) -> int:
    """Enter the people of the head of the due inbox (up to `limit` events) made of
    events that enter flows, when their entries are on proved paths; answer how many
    events were consumed (0: the general path takes the inbox). The last parts are left
    in flight (`Context.in_flight`); the head starts past the stimuli in flight."""
    at = to_micros(now)
    owned = ctx.scope.owned()
    flight = ctx.in_flight
    head: list[tuple[InboxItem, list[Compiled]]] = []
    refuses: dict[int, bool] = {}  # flow -> whether its rules refuse even a first entry
    with ctx.db.read() as conn:
        seen = set(flight.people)  # a person's stimulus waits for their part's commit
        for item in due_inbox(conn, at, limit + len(flight.items), owned):
            if item.id in flight.items:
                continue
            flows = _flows(ctx, item)
            if flows is None or item.person_id in seen or len(head) >= limit:
                break
            for c in flows:
                if c.flow_id not in refuses:
                    refuses[c.flow_id] = c.rules.refusal([], now) is not None
            if any(refuses[c.flow_id] for c in flows):
                break
            head.append((item, flows))
            seen.add(item.person_id)
        if not head:
            return 0
        busy = _busy(ctx, conn, [item for item, _ in head])
        candidates: dict[int, set[int]] = defaultdict(set)
        for item, flows in head:
            for compiled in flows:
                candidates[compiled.flow_id].add(item.person_id)
        been = {
            (flow_id, person_id)
            for flow_id, people in candidates.items()
            for person_id in history(conn, flow_id, people)
        }
    fresh = [
        (item, flows)
        for item, flows in head
        if not any((c.flow_id, item.person_id) in been for c in flows)  # the cap decides
        and not any(
            waiting_for == item.payload.get("name")
            or (wake_at is not None and wake_at <= item.due_at)
            for waiting_for, wake_at in busy.get(item.person_id, ())
        )  # the event reaches them, or a timer of theirs comes first
    ]
    # A pipeline: while the writer commits one part, the next part's people are read and
    # their entries planned (the writer's SQLite work leaves the interpreter free).
    plans: dict[tuple[int, int], EntryPlan] = {}
    done = 0
    versions = {(c.flow_id, c.version): c.program for _, flows in fresh for c in flows}
    needs = entry_needs(versions.values())  # what of each person is read: no more is loaded
    for start in range(0, len(fresh), PART):
        part = fresh[start : start + PART]
        with ctx.db.read() as conn:
            persons = load_people(conn, [item.person_id for item, _ in part], needs)
        taken, entering = _plan(part, persons, plans, now)
        if taken:
            prepared = _prepare(ctx, taken, entering, at)
            future = ctx.db.submit(_writer(ctx, prepared, at))
            flight.add(future, prepared.consumed, {i.person_id for i in taken})
            flight.trim(IN_FLIGHT)  # the engine keeps no more than that ahead of the writer
            done += len(taken)
    return done


def take_more(ctx: Context, now: datetime, limit: int) -> int:
    """Go on with the next head while parts are in flight, when it is one of event
    entries (`take`) and no timer is due (timers come first: `chain.run`); answer
    how many events were consumed (0: the caller settles what is in flight first)."""
    with ctx.db.read() as conn:
        owned, partitions = ctx.scope.owned(), ctx.partitions
        if first_timer(conn, to_micros(now), owned, partitions=partitions) is not None:
            return 0
    return take(ctx, now, limit)


def _plan(
    part: Sequence[tuple[InboxItem, list[Compiled]]],
    persons: dict[int, Person],
    plans: dict[tuple[int, int], EntryPlan],
    now: datetime,
) -> tuple[list[InboxItem], list[Entering]]:
    """The events of `part` that are consumed here, and the entries they make."""
    taken: list[InboxItem] = []
    entering: list[Entering] = []
    for item, flows in part:
        person = persons.get(item.person_id)
        if person is None:
            taken.append(item)  # deleted since: the event goes with them
            continue
        properties = item.payload.get("properties") or {}
        mine: list[Entering] = []
        for compiled in flows:
            key = (compiled.flow_id, compiled.version)
            with blame(*key):
                if not admits(compiled.program, person, properties, now):
                    continue
                plan = plans.get(key)
                if plan is None:
                    plan = plans[key] = EntryPlan(compiled.program, now)
                entry = plan.enter(person, properties)
            if entry is None:
                break  # not on a proved path, or a message would not go
            mine.append((item, compiled, entry))
        else:
            taken.append(item)
            entering += mine
    return taken, entering


class _Prepared(NamedTuple):
    """A part's writes, built on the engine thread; the writer only numbers them."""

    consumed: list[int]  # inbox ids
    rows: list[tuple[Any, ...]]  # participation values, the id 0 (the writer's to give)
    leaves: list[Leaf]  # each row's path
    cohorts: dict[Leaf, Cohort]
    outbox: list[tuple[int, dict[str, Any]]]  # (row, outbox row for participation 0)
    counters: dict[tuple[int, int, int, str, str], int]


def _prepare(
    ctx: Context, taken: Sequence[InboxItem], entering: Sequence[Entering], at: int
) -> _Prepared:
    prepared = _Prepared([item.id for item in taken], [], [], {}, [], defaultdict(int))
    # what a path's participations share, in COLUMNS order: phase ... local and
    # wake_at ... exit_reason (a person's own: their variables and entry event)
    shared: dict[Leaf, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
    for item, compiled, entry in entering:
        leaf = entry.leaf
        if leaf not in shared:
            prepared.cohorts[leaf] = Cohort(compiled, leaf.move)
            phase, element, wake_at, waiting_for, waiting_element, local, exited_at, reason = (
                move_state(compiled.program, leaf.move, at)
            )
            shared[leaf] = (
                (phase, element),
                # message_events: none yet; entered at `at`
                (local, None, wake_at, waiting_for, waiting_element, at, exited_at, reason),
            )
        state, rest = shared[leaf]
        person = item.person_id
        event = None if entry.entry_event is None else orjson.dumps(entry.entry_event).decode()
        row = (compiled.account_id, compiled.flow_id, compiled.version, person)
        values = (0, *row, *state, _json(entry.variables), event)
        index = len(prepared.rows)
        prepared.rows.append((*values, *rest))
        prepared.leaves.append(leaf)
        where = (compiled.account_id, compiled.flow_id, compiled.version)
        owner = (compiled.account_id, 0, compiled.flow_id, compiled.version, item.person_id)
        for message in entry.messages:
            prepared.outbox.append((index, message_row(owner, at, message)))
            prepared.counters[(*where, "", "messagesSent")] += message.parts
            prepared.counters[(*where, message.element, "messagesSent")] += message.parts
    return prepared


def _json(value: Any) -> str | None:
    """A JSON column's text; NULL when empty (EMPTY_AS_NULL)."""
    return orjson.dumps(value).decode() if value else None


def _writer(ctx: Context, prepared: _Prepared, at: int) -> Callable[[Connection], int]:
    def write(conn: Connection) -> int:
        ctx.scope.fence(conn)
        _write(ctx, conn, prepared, at)
        return len(prepared.consumed)

    return write


def _write(ctx: Context, conn: Connection, prepared: _Prepared, at: int) -> None:
    """Participations (with their path's trace lines as their entry detail), outbox rows
    handed to the sandbox and messagesSent; then each path's unique visits and counters."""
    ids = next_ids(conn, len(prepared.rows))
    details = {leaf: entry_detail(conn, c, at) for leaf, c in prepared.cohorts.items()}
    by_leaf: dict[Leaf, list[tuple[Any, ...]]] = defaultdict(list)
    for pid, values, leaf in zip(ids, prepared.rows, prepared.leaves, strict=True):
        by_leaf[leaf].append((pid, *values[1:], details[leaf]))
    for rows in by_leaf.values():
        insert_alike(conn, rows)
    changes = Changes(consumed_inbox=prepared.consumed, counters=prepared.counters, at=at)
    write_changes(conn, changes)
    outbox = []
    for index, row in prepared.outbox:
        row["participation_id"] = ids[index]
        outbox.append(row)
    # their participations were just inserted (a deleted person's would have failed)
    hand_over_entered(ctx, conn, outbox, at)
    members: dict[Leaf, list[int]] = defaultdict(list)
    for pid, leaf in zip(ids, prepared.leaves, strict=True):
        members[leaf].append(pid)
    for leaf, cohort in prepared.cohorts.items():
        record(conn, cohort, members[leaf], at, entry_detail=details[leaf])


def _busy(
    ctx: Context, conn: Connection, items: Sequence[InboxItem]
) -> dict[int, list[tuple[str | None, int | None]]]:
    """What the people of `items` wait for (the event's name: programs.waiting_for), and
    when their timers come, by person."""
    waiting_for = ctx.programs.waiting_for
    return {
        person_id: [
            (waiting_for(flow_id, version, element, stored), wake_at)
            for _, flow_id, version, element, stored, _, wake_at in rows
        ]
        for person_id, rows in waiting_of(
            conn, ((i.account_id, i.person_id) for i in items)
        ).items()
    }
