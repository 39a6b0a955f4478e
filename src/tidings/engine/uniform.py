"""Set-based moves for uniform steps (`domain/journey/uniform.py`).

When a timer comes for thousands of people at a `wait` of a fixed duration, or the plain
event they wait for arrives, every one of them moves the same way: the step function
runs once, for nobody, and its outcome is written for all of them with a few statements
per 500 people (participations updated, trace rows and unique visits inserted from the
rows themselves, counters added once). What each person would have got from a step of
their own is what they get here; tests/engine/test_uniform.py runs the same journeys
with and without these paths and compares the stores.

Order is kept: timers are moved only when they come before every due stimulus of the
inbox (a person's event that came first is seen first), events only while no timer is
due before them, and a person's second event in a batch waits for the general path.
A participation with element-local state (a goal reached, a held answer, a chain of
add_to_flow hops) or of a version that does not run is left to the general path too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.journey import Phase
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.elements.waits import WaitForEventHandler
from tidings.domain.journey.needs import message_needs
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import UniformMove, personal_sends, uniform_move
from tidings.engine import sql_sends
from tidings.engine.context import Bulk
from tidings.engine.dispatch import Sendable, hand_over, settle
from tidings.engine.failures import blame
from tidings.engine.in_flight import settled
from tidings.engine.programs import Compiled, stored_waiting_for
from tidings.store import traces
from tidings.store.changes import Changes, write_changes
from tidings.store.dialect import dialect_of, ids_in, json_param, param
from tidings.store.events import EventRow, insert_events
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.outbox import message_row
from tidings.store.participations import history, waiting_people
from tidings.store.raw import fetch, partition_sql, person_partition_sql
from tidings.store.snapshots import existing_people, load_people
from tidings.store.tables import PHASE_CODE, WAITING
from tidings.store.timers import first_timer, timed_people

CHUNK = 2000
PART = 2000  # entries composed while the writer commits the previous part
FIRST_PART = 250  # the head's first part: small, so the writer has work soon


@dataclass(frozen=True)
class Cohort:
    """Everyone of one version at one element, and the move they all make."""

    compiled: Compiled
    move: UniformMove


# --- timers ----------------------------------------------------------------------------------


def wake_timers(engine: Bulk, now: datetime, limit: int) -> int:
    """Move up to `limit` people whose timer has come at elements where it moves everyone
    alike; answer how many moved (0 leaves everything to the general path). The elements
    are those of the next `engine.batch_size` due timers."""
    at = to_micros(now)
    owned = engine.scope.owned()
    where = partition_sql(owned)
    mine = person_partition_sql(owned, engine.partitions)  # participations
    with engine.db.read() as conn:
        engine.programs.refresh(conn)
        p = param(dialect_of(conn.engine.url.drivername))
        head = fetch(
            conn,
            f"SELECT due_at FROM inbox WHERE due_at <= {p}{where} ORDER BY due_at, id LIMIT 1",
            (at,),
        )
        cut = at if not head else min(at, int(head[0][0]) - 1)
        starts = fetch(
            conn,
            "SELECT DISTINCT flow_id, version, element FROM (SELECT flow_id, version, element "
            f"FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
            f"AND wake_at <= {p}{mine} ORDER BY wake_at LIMIT {int(engine.batch_size)}) AS head",
            (cut,),
        )
    cohorts = []
    for flow_id, version, element in starts:
        compiled = engine.programs.by_version.get((flow_id, version))
        if compiled is None or not compiled.runs or element is None:
            continue
        with blame(flow_id, version, element):
            move = uniform_move(compiled.program, element, "timer", now)
        if move is not None:
            cohorts.append(Cohort(compiled, move))
    if not cohorts:
        return 0

    def write(conn: Connection) -> int:
        engine.scope.fence(conn)
        left = limit
        for cohort in cohorts:
            c = cohort.compiled
            # `+flow_id` keeps SQLite on the due index: by the flow it picked the history
            # index and sorted every waiting row of the flow (a scan of 1M per batch).
            rows = fetch(
                conn,
                f"SELECT id FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
                f"AND wake_at <= {p} AND +flow_id = {p} AND version = {p} AND element = {p} "
                f"AND local IS NULL{mine} ORDER BY wake_at LIMIT {int(left)}",
                (cut, c.flow_id, c.version, cohort.move.start),
            )
            with blame(c.flow_id, c.version, cohort.move.start):
                apply(conn, cohort, [r[0] for r in rows], at)
            left -= len(rows)
            if left <= 0:
                break
        return limit - left

    return int(engine.db.write(write))


# --- events ----------------------------------------------------------------------------------


def match_events(engine: Bulk, now: datetime, limit: int, first: InboxItem) -> int:
    """Consume the longest head of the due inbox (up to `limit` stimuli, `first` the
    first of them) made of plain events that move everyone who waits for them alike;
    answer how many were consumed."""
    at = to_micros(now)
    owned = engine.scope.owned()
    programs = engine.programs
    by_name: dict[tuple[int, str], list[Cohort] | None] = {}
    head: list[InboxItem] = []
    seen: set[int] = set()
    with engine.db.read() as conn:
        p = param(dialect_of(conn.engine.url.drivername))
        key = (first.account_id, str(first.payload.get("name")))
        by_name[key] = _event_cohorts(engine, key[0], key[1], now)
        if by_name[key] is None:
            return 0
        items = due_inbox(conn, at, limit, owned)
        before = first_timer(conn, at, owned, partitions=engine.partitions)
        for item in items:
            if item.kind != "event" or item.person_id in seen:
                break
            if before is not None and item.due_at >= before:
                break  # a timer comes first
            key = (item.account_id, str(item.payload.get("name")))
            if key not in by_name:
                by_name[key] = _event_cohorts(engine, key[0], key[1], now)
            if by_name[key] is None or item.payload.get("store"):
                break
            head.append(item)
            seen.add(item.person_id)
        if not head:
            return 0
        waiting = _waiting(conn, head, p)
    # Everyone waiting for the event must be in a cohort of it (a running version, nothing
    # element-local); the head ends before the first person for whom that is not so.
    moved: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    taken = 0
    for item in head:
        name = str(item.payload.get("name"))
        cohorts = {
            (c.compiled.flow_id, c.compiled.version, c.move.start): c
            for c in by_name[(item.account_id, name)] or ()
        }
        mine: list[tuple[tuple[int, int, str], int]] = []
        fits = True
        for pid, flow_id, version, element, waiting_for, local in waiting.get(item.person_id, ()):
            if programs.waiting_for(flow_id, version, element, waiting_for) != name:
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
        engine.scope.fence(conn)
        write_changes(conn, Changes(consumed_inbox=consumed))
        for key, ids in moved.items():
            with blame(*key):
                apply(conn, all_cohorts[key], ids, at)
        return len(consumed)

    return int(engine.db.write(write))


def take_entries(engine: Bulk, now: datetime, limit: int, first: InboxItem) -> int:
    """Enter the head of the due inbox (up to `limit` stimuli, `first` the first of them)
    made of audience entries into one flow whose first steps are everyone's, for people
    who were never in it (the frequency cap has nothing to say about them); answer how
    many entries were consumed. The path may send: each person's messages are composed
    for them (`personal_sends`). People for whom the path is not everyone's (they were
    in the flow, a message would not go) stay in the inbox for the general path, which
    takes them next: entries of different people into one flow do not depend on their
    order."""
    compiled = engine.programs.active.get(first.flow_id or 0)
    if compiled is None or compiled.account_id != first.account_id:
        return 0
    with blame(compiled.flow_id, compiled.version):  # every part is this version's
        return _take_entries(engine, now, limit, compiled)


def _take_entries(engine: Bulk, now: datetime, limit: int, compiled: Compiled) -> int:
    at = to_micros(now)
    owned = engine.scope.owned()
    flow_id = compiled.flow_id
    if compiled.rules.refusal([], now) is not None:
        return 0
    program = compiled.program
    move = uniform_move(program, None, "enter", now, sends=True)
    if move is None:
        return 0
    cohort = Cohort(compiled, move)

    def writer(
        taken: list[InboxItem], messages: dict[int, list[dict[str, Any]]]
    ) -> Callable[[Connection], int]:
        def write(conn: Connection) -> int:
            engine.scope.fence(conn)
            dialect = dialect_of(conn.engine.url.drivername)
            p, j = param(dialect), json_param(dialect)
            state = _state(program, move, at)
            variables = orjson.dumps(dict(move.variables)).decode() if move.variables else None
            # the store composes the messages: only people it can send to enter here
            reachable = "" if by_sql is None else f" AND {sql_sends.has_phone('people.id')}"
            detail = entry_detail(conn, cohort, at)
            ids: dict[int, int] = {}  # person -> participation
            # people in order of their ids (a queued entry into one flow does not depend
            # on another person's); those deleted since they were queued are not found
            people = sorted({i.person_id for i in taken})
            for start in range(0, len(people), CHUNK):
                for pid, person_id in fetch(
                    conn,
                    "INSERT INTO participations (account_id, flow_id, version, person_id, "
                    "phase, element, wake_at, waiting_for, waiting_element, local, "
                    "exited_at, exit_reason, variables, entry_event, message_events, entered_at, "
                    f"entry_detail) SELECT people.account_id, {p}, {p}, people.id, {p}, "
                    f"{p}, {p}, {p}, {p}, {j}, {p}, {p}, {j}, NULL, NULL, {p}, {p} FROM people "
                    f"WHERE {ids_in('people.id', people[start : start + CHUNK])} "
                    f"AND +people.account_id = {int(compiled.account_id)}{reachable} "
                    "ORDER BY people.id RETURNING id, person_id",
                    (compiled.flow_id, compiled.version, *state, variables, at, detail),
                ):
                    ids[int(person_id)] = int(pid)
            where = (compiled.account_id, compiled.flow_id, compiled.version)
            if by_sql is not None:
                return _write_sql(engine, conn, cohort, taken, ids, at, by_sql, detail)
            changes = Changes()
            outbox: list[dict[str, Any]] = []
            for item in taken:
                changes.consume(item)
                pid = ids.get(item.person_id)
                if pid is None:
                    continue  # deleted since it was queued: no participation, nothing sent
                for row in messages.get(item.person_id, ()):
                    row["participation_id"] = pid
                    outbox.append(row)
                    parts = row["payload"]["parts"]
                    changes.counters[(*where, "", "messagesSent")] += parts
                    changes.counters[(*where, row["element"], "messagesSent")] += parts
            write_changes(conn, changes)
            hand_over_entered(engine, conn, outbox, at)
            _record(conn, cohort, sorted(ids.values()), at, entry_detail=detail)
            return len(taken)

        return write

    # A pipeline: while the writer commits one part of the head, the next part's history
    # is read, its people loaded (only what their messages read) and their messages
    # composed (the writer's SQLite work leaves the interpreter free). The first part is
    # small, so the writer starts early.
    head: list[InboxItem] = []
    with engine.db.read() as conn:
        seen: set[int] = set()
        for item in due_inbox(conn, at, limit, owned):
            if not plain_entry(item) or item.flow_id != flow_id or item.person_id in seen:
                break
            if item.account_id != compiled.account_id:
                break
            head.append(item)
            seen.add(item.person_id)
    pending: list[Future[int]] = []
    needs = message_needs(_send(program, e).content for e in move.sends)
    by_sql = sql_sends.plan(program, move, now) if engine.sql_sends else None
    start, size = 0, FIRST_PART
    while start < len(head):
        part = head[start : start + size]
        start, size = start + size, PART
        with engine.db.read() as conn:
            people = {i.person_id for i in part}
            been = set(history(conn, compiled.flow_id, people))
            # a timer of theirs that is due comes first: the general path keeps the order
            been |= timed_people(conn, people, at)
            fresh = [item for item in part if item.person_id not in been]
            persons = (
                load_people(conn, [i.person_id for i in fresh], needs)
                if move.sends and fresh and by_sql is None
                else {}
            )
        messages: dict[int, list[dict[str, Any]]] = {}  # person -> their outbox rows
        taken: list[InboxItem] = []
        for item in fresh:
            if move.sends and by_sql is None:
                person = persons.get(item.person_id)
                if person is not None:  # a deleted person's entry is only consumed
                    composed = personal_sends(program, move, person, now)
                    if composed is None:
                        continue
                    # the outbox rows, but for the participation the write numbers
                    where = (
                        compiled.account_id,
                        0,
                        compiled.flow_id,
                        compiled.version,
                        item.person_id,
                    )
                    messages[item.person_id] = [message_row(where, at, m) for m in composed]
            taken.append(item)
        if taken:
            pending.append(engine.db.submit(writer(taken, messages)))
    done = sum(settled(pending))
    engine.forget_ids()  # SQLite numbered those rows itself
    return done


def hand_over_entered(
    engine: Bulk, conn: Connection, outbox: list[dict[str, Any]], at: int
) -> None:
    """Hand over the messages of people this write entered (their rows in `people` were
    just read by the insert), after their participations: a report goes to whoever now
    waits for it."""
    hand_over(
        conn,
        outbox,
        at,
        partitions=engine.partitions,
        quiet=engine.quiet,
        people_exist=True,
        figures=engine.figures,
    )


def _write_sql(
    engine: Bulk,
    conn: Connection,
    cohort: Cohort,
    taken: list[InboxItem],
    ids: dict[int, int],
    at: int,
    sends: list[sql_sends.SqlSend],
    detail: int | None,
) -> int:
    """The rest of an entry part whose messages the store composes (engine/sql_sends.py):
    the entries consumed (a deleted person's too; a person without a phone stays for the
    general path), the messages written and handed over, and what the move counts."""
    # consumed: the entries of those who entered, and of people deleted since
    left = [i.person_id for i in taken if i.person_id not in ids]
    gone = set(left) - set(existing_people(conn, left))
    rows, parts = sql_sends.write(conn, sends, {pid: person for person, pid in ids.items()}, at)
    engine.composed_by_store += len(rows)
    c = cohort.compiled
    where = (c.account_id, c.flow_id, c.version)
    changes = Changes()
    consumed = 0
    for item in taken:
        if item.person_id in ids or item.person_id in gone:
            changes.consume(item)
            consumed += 1
    for element, n in parts.items():
        changes.counters[(*where, "", "messagesSent")] += n
        changes.counters[(*where, element, "messagesSent")] += n
    account, flow, version = where
    sendable: list[Sendable] = [
        (oid, account, pid, flow, version, element, person, "message", "sms", False)
        for oid, pid, person, element in rows
    ]
    write_changes(conn, changes)
    # after the participations: a report goes to whoever now waits for it
    settle(
        conn,
        sendable,
        at,
        partitions=engine.partitions,
        quiet=engine.quiet,
        people_exist=True,
        figures=engine.figures,
    )
    _record(conn, cohort, sorted(ids.values()), at, entry_detail=detail)
    return consumed


def _send(program: Program, element: str) -> Send:
    handler = program.handlers[element]
    assert isinstance(handler, Send)
    return handler


def store_reports(engine: Bulk, now: datetime, limit: int) -> int:
    """Keep the head of the due inbox made of delivery reports (`message.delivered` ...)
    for people who wait in no flow, in their events, set-based: no flow enters or
    reaches a goal on them, and nobody waits, so that is all a step would do."""
    at = to_micros(now)
    owned = engine.scope.owned()
    programs = engine.programs
    head: list[InboxItem] = []
    seen: set[int] = set()
    with engine.db.read() as conn:
        for item in due_inbox(conn, at, limit, owned):
            name = str(item.payload.get("name"))
            if item.kind != "event" or not item.payload.get("store") or item.person_id in seen:
                break
            key = (item.account_id, name)
            if programs.event_entries.get(key) or programs.goals.get(key):
                break
            head.append(item)
            seen.add(item.person_id)
        busy = waiting_people(conn, ((i.account_id, i.person_id) for i in head))
    taken = next((n for n, item in enumerate(head) if item.person_id in busy), len(head))
    if not taken:
        return 0
    consumed = [item.id for item in head[:taken]]
    kept: list[EventRow] = [
        (
            item.account_id,
            item.person_id,
            str(item.payload.get("name")),
            orjson.dumps(item.payload.get("properties") or {}).decode(),
            int(item.payload.get("time", item.due_at)),
            at,
        )
        for item in head[:taken]
    ]

    def write(conn: Connection) -> int:
        engine.scope.fence(conn)
        write_changes(conn, Changes(consumed_inbox=consumed))
        insert_events(conn, kept, skip_deleted=True)  # a deleted person's reports go too
        return taken

    return int(engine.db.write(write))


def plain_entry(item: InboxItem) -> bool:
    """An audience entry: no variables, no event, not from another flow."""
    return item.kind == "enter" and not item.payload


def _event_cohorts(engine: Bulk, account_id: int, name: str, now: datetime) -> list[Cohort] | None:
    """The cohorts an event of `name` moves, when it moves each of them alike; None when
    anything else happens to it (an entry, a goal, a wait with a condition...)."""
    programs = engine.programs
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


def _waiting(
    conn: Connection, items: Sequence[InboxItem], p: str
) -> dict[int, list[tuple[int, int, int, str, str | None, Any]]]:
    """The waiting participations of the people of `items`, a few columns each."""
    by_account: dict[int, list[int]] = defaultdict(list)
    for item in items:
        by_account[item.account_id].append(item.person_id)
    out: dict[int, list[tuple[int, int, int, str, str | None, Any]]] = defaultdict(list)
    for account_id, people in by_account.items():
        for start in range(0, len(people), CHUNK):
            chunk = people[start : start + CHUNK]
            for pid, person_id, flow_id, version, element, waiting_for, local in fetch(
                conn,
                "SELECT id, person_id, flow_id, version, element, waiting_for, local "
                f"FROM participations WHERE account_id = {p} AND phase = {WAITING} "
                f"AND person_id IN ({', '.join([p] * len(chunk))})",
                (account_id, *chunk),
            ):
                out[person_id].append((pid, flow_id, version, element, waiting_for, local))
    return out


def _empty(local: Any) -> bool:
    """No element-local state: NULL (store/tables.py), or `{}` as rows had it once."""
    if isinstance(local, str | bytes):
        return local in ("{}", b"{}")
    return not local


# --- writing a move --------------------------------------------------------------------------


def apply(conn: Connection, cohort: Cohort, ids: Sequence[int], at: int) -> None:
    """Write `cohort`'s move for the participations `ids`, as a step each would have."""
    if not ids:
        return
    dialect = dialect_of(conn.engine.url.drivername)
    p, j = param(dialect), json_param(dialect)
    sets = (
        f"phase = {p}, element = {p}, wake_at = {p}, waiting_for = {p}, waiting_element = {p}, "
        f"local = {j}, exited_at = {p}, exit_reason = {p}"
    )
    values = _state(cohort.compiled.program, cohort.move, at)
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("id", ids[start : start + CHUNK])
        conn.exec_driver_sql(f"UPDATE participations SET {sets} WHERE {listed}", values)
    _record(conn, cohort, ids, at)


def _state(program: Program, move: UniformMove, at: int) -> tuple[Any, ...]:
    """phase (its code), element, wake_at, waiting_for (NULL when it is the element's own
    event: programs.stored_waiting_for), waiting_element, local (NULL when empty),
    exited_at and exit_reason after `move` at `at`."""
    exited = move.phase is Phase.exited
    return (
        PHASE_CODE[move.phase],
        move.element,
        None if move.wake_at is None else to_micros(move.wake_at),
        stored_waiting_for(program, move.element, move.waiting_for),
        move.waiting_element,
        orjson.dumps(dict(move.local)).decode() if move.local else None,
        at if exited else None,
        (move.exit_reason or "completed") if exited else None,
    )


def entry_detail(conn: Connection, cohort: Cohort, at: int) -> int | None:
    """For an entry cohort (`move.start` None): the shared trace detail of its lines at
    `at`, for the participations' `entry_detail` column (store/traces.py); insert them
    with it and pass it to `_record`, and they need no trace row. None: no lines."""
    lines = _lines(cohort.move)
    if not lines:
        return None
    return traces.entry_detail(conn, cohort.compiled.account_id, cohort.move.element, lines, at)


def _lines(move: UniformMove) -> list[list[str | None]]:
    return [[e, what] if why is None else [e, what, why] for e, what, why in move.lines]


def _record(
    conn: Connection,
    cohort: Cohort,
    ids: Sequence[int],
    at: int,
    *,
    entry_detail: int | None = None,
) -> None:
    """What the move counts and traces: trace lines, unique visits, counters, activity.

    An entry's lines (`move.start` None; the participations `ids` entered at `at`) are
    not trace rows but the participations' `entry_detail`: give the id they were inserted
    with (`entry_detail(conn, cohort, at)`); without it, it is set on them here (an
    update of each row). Any other move's lines are a trace row each."""
    if not ids:
        return
    p = param(dialect_of(conn.engine.url.drivername))
    move, c = cohort.move, cohort.compiled
    lines = _lines(move)
    entry = move.start is None
    if entry and lines and entry_detail is None:
        detail = traces.entry_detail(conn, c.account_id, move.element, lines, at)
        for start in range(0, len(ids), CHUNK):
            listed = ids_in("id", ids[start : start + CHUNK])
            conn.exec_driver_sql(
                f"UPDATE participations SET entry_detail = {p} WHERE {listed}", (detail,)
            )
    visited = sorted(set(move.visited))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if lines and not entry:
            listed = ", ".join(str(int(i)) for i in chunk)
            traces.copy_steps(conn, listed, move.element, lines, at)
        if visited:  # every element of the path in one statement (VALUES' column1)
            conn.exec_driver_sql(
                "INSERT INTO element_visits (account_id, flow_id, version, element, person_id) "
                "SELECT p.account_id, p.flow_id, p.version, e.column1, p.person_id "
                f"FROM participations p CROSS JOIN (VALUES {', '.join([f'({p})'] * len(visited))}) "
                f"AS e WHERE {ids_in('p.id', chunk)} ON CONFLICT DO NOTHING",
                tuple(visited),
            )
    changes = Changes()
    for count in move.counts:
        key = (c.account_id, c.flow_id, c.version, count.element or "", count.name)
        changes.counters[key] += count.by * len(ids)
    write_changes(conn, changes)
    conn.exec_driver_sql(f"UPDATE flows SET last_activity_at = {p} WHERE id = {p}", (at, c.flow_id))
