"""The batch loop: claim due stimuli, advance them in memory, write every outcome in one
transaction (state, outbox rows, inbox rows, counters, visits).

Reads happen outside the write; that is safe because the engine is the only writer of
participations (the API asks it for changes through the inbox and version statuses).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, assert_never

import orjson
from sqlalchemy import Connection

from tidings.domain.durations import from_micros, to_micros
from tidings.domain.entry_rules import Past
from tidings.domain.journey import (
    AddToFlow,
    CallApi,
    Canceled,
    Count,
    Effect,
    Entered,
    EventArrived,
    LookupCatalog,
    Notify,
    Person,
    Phase,
    ResultArrived,
    SendMessage,
    State,
    Stimulus,
    TimerDue,
    Trace,
    UpdateProfile,
    admits,
    advance,
)
from tidings.domain.lifecycle import Status
from tidings.engine import bulk, calls, catalogs, dispatch
from tidings.engine.failures import blame
from tidings.engine.figures import EngineFigures
from tidings.engine.interest import Interest
from tidings.engine.profile import apply_profile_updates
from tidings.engine.programs import Compiled, Programs, apply_moved, read_waiting_for
from tidings.engine.scope import Everything, Scope
from tidings.engine.sending import Links
from tidings.store import audience
from tidings.store import flows as flow_store
from tidings.store.changes import Changes, write_changes
from tidings.store.counts import PEOPLE_ONCE, mark_active
from tidings.store.database import Database
from tidings.store.events import EventRow
from tidings.store.ids import next_ids
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.outbox import call_row, message_row
from tidings.store.participations import Row, end_version, history, live_of
from tidings.store.performance import people_inside
from tidings.store.snapshots import load_people
from tidings.store.timers import due_timers

HELD_RESULT = "_heldResult"  # in a participation's `local`: a result that came while paused
# The general path's batch. On PostgreSQL a batch of 5,000 wrote for 1.5-2.5 s while no
# exit committed, so under a backlog the flow's exits came in bursts; 1,000 keeps them
# steady at the same rate (bench journeys-http --database postgresql: the 5-s buckets'
# min/median 0.74-0.91 against 0.38-0.92; bench events on PostgreSQL unchanged). SQLite's
# single writer gains from the larger batch.
BATCH = {"sqlite": 5000, "postgresql": 1000}
UNIFORM_BATCHES = 4  # a set-based move takes up to this many batches' worth of people


@dataclass
class Batch:
    """One batch in memory: participations by id, and what to write."""

    rows: dict[int, Row] = field(default_factory=dict)
    live: dict[tuple[int, int], int] = field(default_factory=dict)  # (flow, person) -> id
    of_person: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    new_ids: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    active_flows: set[int] = field(default_factory=set)
    changes: Changes = field(default_factory=Changes)
    profile: dict[int, list[UpdateProfile]] = field(default_factory=lambda: defaultdict(list))
    history: dict[int, dict[int, list[Past]]] = field(default_factory=dict)
    trace: dict[int, list[list[Any]]] = field(default_factory=lambda: defaultdict(list))
    lookups: list[catalogs.Lookup] = field(default_factory=list)
    # (account, person) of people a stimulus moves who may have a live call (calls.py)
    callers: set[tuple[int, int]] = field(default_factory=set)


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        partitions: int = 256,
        batch_size: int | None = None,
        interest: Interest | None = None,
        scope: Scope | None = None,
        uniform_paths: bool = True,
        sql_sends: bool = True,
        figures: EngineFigures | None = None,
    ) -> None:
        self.db = db
        self.figures = figures or EngineFigures()  # for /metrics (engine/figures.py)
        # Set-based moves for people a stimulus moves alike (engine/bulk/); off, every
        # person is stepped alone (the tests compare the two).
        self.uniform_paths = uniform_paths
        # ... and the store composes their SMS when it can (engine/bulk/sql_sends.py)
        self.sql_sends = sql_sends
        self.moved_in_bulk = 0  # people moved by those set-based paths, since start
        self.bulk_tally = bulk.Tally()  # what they count
        self.scope: Scope = scope or Everything()
        self.interest = interest
        self.partitions = partitions
        self.batch_size = batch_size or BATCH[db.dialect]
        self.programs = Programs()
        self._next_id = 0
        self._ids: list[int] = []  # PostgreSQL: this batch's ids, reserved in the read
        self.in_flight = bulk.InFlight()  # event entries not committed yet
        self.took_calls = False  # a live version entered on calls since start (calls.py)
        # how tracked links and unsubscribe links are made (set by the runner, which knows
        # the public URL and reads the install's key)
        self.links: Links | None = None

    @property
    def composed_by_store(self) -> int:
        """Messages the store composed (engine/bulk/sql_sends.py), since start."""
        return self.bulk_tally.composed_by_store

    def _bulk(self) -> bulk.Context:
        """The set-based paths' context, as the engine's settings are now."""
        return bulk.Context(
            db=self.db,
            scope=self.scope,
            programs=self.programs,
            partitions=self.partitions,
            batch_size=self.batch_size,
            sql_sends=self.sql_sends,
            figures=self.figures,
            in_flight=self.in_flight,
            tally=self.bulk_tally,
            forget_ids=self.forget_ids,
            links=self.links,
        )

    def partition_of(self, person_id: int) -> int:
        return person_id % self.partitions

    # --- one batch ---------------------------------------------------------------------------

    def run_once(
        self, now: datetime, *, also: Callable[[Connection], Any] | None = None
    ) -> tuple[int, Any]:
        """Advance everything due at `now` (up to a batch); return how much was done, and
        what `also` answered when it ran inside the batch's transaction (the runner claims
        the API calls the batch wrote there, saving a commit on the way to the call)."""
        at = to_micros(now)
        if self.uniform_paths:
            moved = bulk.run(self._bulk(), now, self.batch_size * UNIFORM_BATCHES)
            if moved:
                self.moved_in_bulk += moved
                return moved, None
        batch = Batch()
        with self.db.read() as conn:
            self.programs.refresh(conn)
            self.took_calls = self.took_calls or bool(self.programs.call_accounts)
            if self.interest is not None:
                self.interest.update(self.programs.interest())
            owned = self.scope.owned()
            items = due_inbox(conn, at, self.batch_size, owned)
            timers = due_timers(conn, at, self.batch_size, owned, partitions=self.partitions)
            timers = [t for t in timers if self._runs(t)]
            if not items and not timers:
                return (self._idle_moves(at) if self.scope.leads() else 0), None
            # Everything live of the people with stimuli (an event may reach any of their
            # waits); a person who is only due on a timer needs no more than that row.
            people_ids = {(i.account_id, i.person_id) for i in items}
            if self.programs.call_accounts:
                batch.callers = {p for p in people_ids if p[0] in self.programs.call_accounts}
            for row in [*live_of(conn, people_ids), *timers]:
                if row.id in batch.rows:
                    continue
                batch.rows[row.id] = row
                batch.live[(row.flow_id, row.person_id)] = row.id
                batch.of_person[row.person_id].add(row.id)
            entering = self._entry_candidates(items)
            for flow_id, person_ids in entering.items():
                batch.history[flow_id] = history(conn, flow_id, person_ids)
            # Only people with something to do are loaded: an event no flow starts on,
            # for a person who waits for nothing, is consumed without a look at them.
            involved = {row.person_id for row in batch.rows.values()}
            for person_ids in entering.values():
                involved |= person_ids
            # Message events (`store`) are kept in the person's events: they need the person.
            involved |= {i.person_id for i in items if i.kind != "event" or "store" in i.payload}
            persons = load_people(conn, involved)
            if self.db.dialect == "postgresql":
                # Other workers insert participations too: a batch takes its ids from the
                # sequence, as many as it may need (a local counter would collide).
                self._ids = next_ids(conn, self._entries_at_most(items))[::-1]
            elif not self._next_id:
                self._next_id = next_ids(conn, 1)[0]

        work: list[tuple[int, int, Any]] = [(t.wake_at or at, 0, t) for t in timers]
        work += [(i.due_at, 1, i) for i in items]
        work.sort(key=lambda w: (w[0], w[1], getattr(w[2], "id", 0)))
        for _due, _kind, thing in work:
            if isinstance(thing, Row):
                self._step(batch, persons, thing.id, self._wake_stimulus(batch, thing.id), now)
            else:
                self._item(batch, persons, thing, now)
                batch.changes.consume(thing)

        for pid in sorted(batch.touched | batch.new_ids):
            row = batch.rows[pid]
            if pid in batch.new_ids:
                batch.changes.inserted.append(row)
            else:
                batch.changes.updated.append(row)
        batch.changes.new_inbox += catalogs.resolve(self.db, batch.lookups, to_micros(now))
        at_now = to_micros(now)
        for pid, lines in batch.trace.items():
            row = batch.rows[pid]
            where = (row.account_id, row.person_id, row.flow_id, row.version, pid, row.element)
            batch.changes.trace(where, "steps", lines, at_now)
        extra = self.db.write(lambda conn: self._write(conn, batch, at_now, also))
        return len(work), extra

    def _runs(self, row: Row) -> bool:
        compiled = self.programs.by_version.get((row.flow_id, row.version))
        return compiled is not None and compiled.runs

    def _entries_at_most(self, items: list[InboxItem]) -> int:
        """An upper bound of the participations these stimuli can start."""
        count = 0
        for item in items:
            if item.kind == "event":
                count += len(
                    self.programs.event_entries.get((item.account_id, item.payload["name"]), [])
                )
            elif item.kind == "enter":
                count += 1
        return count

    def quiet(self, account_id: int, name: str) -> bool:
        """Whether no flow enters on the event `name` or counts it as its goal (then a
        report for a person who waits nowhere needs no step: see dispatch.py)."""
        return self.programs.quiet(account_id, name)

    def settle(self) -> None:
        """Wait for the entry parts in flight (engine/bulk/event_entries.py); a failure
        is raised."""
        bulk.settle(self._bulk())

    def forget_ids(self) -> None:
        """Participations were inserted with ids the store chose: read the next free
        one again before the next batch."""
        self._next_id = 0

    def _new_id(self) -> int:
        if self._ids:
            return self._ids.pop()
        if self.db.dialect == "postgresql":
            raise AssertionError("more entries than participation ids reserved")
        pid = self._next_id
        self._next_id += 1
        return pid

    def _entry_candidates(self, items: list[InboxItem]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = defaultdict(set)
        for item in items:
            if item.kind == "event":
                for compiled in self.programs.event_entries.get(
                    (item.account_id, item.payload["name"]), []
                ):
                    out[compiled.flow_id].add(item.person_id)
            elif item.kind == "enter" and item.flow_id is not None:
                out[item.flow_id].add(item.person_id)
        return out

    # --- stimuli -----------------------------------------------------------------------------

    def _item(
        self, batch: Batch, persons: dict[int, Person], item: InboxItem, now: datetime
    ) -> None:
        person = persons.get(item.person_id)
        if person is None:
            return  # the person was deleted; their stimuli go with them
        payload = item.payload
        if item.kind == "event":
            name = payload["name"]
            properties = payload.get("properties") or {}
            when = from_micros(payload.get("time", item.due_at))
            if payload.get("store"):
                batch.changes.events.append(
                    EventRow(
                        item.account_id,
                        item.person_id,
                        name,
                        orjson.dumps(properties).decode(),
                        to_micros(when),
                        to_micros(now),
                    )
                )
            programs = self.programs
            goals = programs.goals.get((item.account_id, name))
            for pid in sorted(batch.of_person.get(item.person_id, ())):
                row = batch.rows[pid]
                if row.phase == Phase.waiting and (
                    programs.waiting_for(row.flow_id, row.version, row.element, row.waiting_for)
                    == name
                    or name.startswith("message.")
                    or (goals is not None and (row.flow_id, row.version) in goals)
                ):
                    self._step(batch, persons, pid, EventArrived(name, properties, when), now)
            for compiled in self.programs.event_entries.get((item.account_id, name), []):
                # `where` decides here; `assign` is applied by the step on Entered.
                with blame(compiled.flow_id, compiled.version):
                    admitted = admits(compiled.program, person, properties, now)
                if admitted:
                    self._enter(batch, persons, compiled, person, {}, properties, now)
        elif item.kind == "enter":
            target = self.programs.active.get(item.flow_id or 0)
            reason: str | None = "targetNotActive"
            if target is not None and target.account_id == item.account_id:
                reason = self._enter(
                    batch,
                    persons,
                    target,
                    person,
                    payload.get("variables") or {},
                    payload.get("event"),
                    now,
                    hops=payload.get("hops", 0),
                )
            source = payload.get("from")  # an add_to_flow element: its refusals, by reason
            if reason is not None and source:
                where = (item.account_id, source["flow"], source["version"], source["element"])
                batch.changes.counters[(*where, f"refused.{reason}")] += 1
                line = [source["element"], "not added", f"{reason}: flow {item.flow_id}"]
                batch.changes.trace(
                    (
                        item.account_id,
                        item.person_id,
                        source["flow"],
                        source["version"],
                        source.get("participation"),
                        source["element"],
                    ),
                    "steps",
                    [line],
                    to_micros(now),
                )
        elif item.kind == "result":
            found = item.participation_id
            if found is None or found not in batch.rows:
                return
            row = batch.rows[found]
            version = self.programs.by_version.get((row.flow_id, row.version))
            if version is not None and version.status is Status.paused:
                # Pause holds the person where they are, and the answer with them: it is
                # kept on the participation, due at once, and delivered after resume.
                held = {k: payload.get(k) for k in ("element", "outcome", "data")}
                row.local = {**row.local, HELD_RESULT: held}
                row.wake_at = to_micros(now)
                batch.touched.add(row.id)
                return
            stimulus = ResultArrived(
                payload["element"], payload["outcome"], payload.get("data") or {}
            )
            self._step(batch, persons, found, stimulus, now)

    @staticmethod
    def _wake_stimulus(batch: Batch, pid: int) -> Stimulus:
        """A due participation wakes with its timer, or with a result held while paused."""
        row = batch.rows[pid]
        held = row.local.get(HELD_RESULT)
        if not isinstance(held, dict):
            return TimerDue()
        row.local = {k: v for k, v in row.local.items() if k != HELD_RESULT}
        return ResultArrived(
            str(held.get("element") or ""), str(held.get("outcome") or ""), held.get("data") or {}
        )

    def _enter(
        self,
        batch: Batch,
        persons: dict[int, Person],
        compiled: Compiled,
        person: Person,
        variables: dict[str, Any],
        event: dict[str, Any] | None,
        now: datetime,
        hops: int = 0,
    ) -> str | None:
        """Enter the person, or count why not and return that reason."""
        key = (compiled.account_id, compiled.flow_id, compiled.version, "", "refusedEntries")
        past = batch.history.get(compiled.flow_id, {}).get(person.id, [])
        with blame(compiled.flow_id, compiled.version):
            reason = compiled.rules.refusal(past, now)
        if reason is None and (compiled.flow_id, person.id) in batch.live:
            reason = "alreadyInFlow"
        if reason is not None:
            where = (compiled.account_id, person.id, compiled.flow_id, compiled.version, None, None)
            batch.changes.trace(where, "refused", {"reason": reason}, to_micros(now))
            batch.changes.counters[key] += 1
            batch.changes.counters[
                (compiled.account_id, compiled.flow_id, compiled.version, "", f"refused.{reason}")
            ] += 1
            return reason
        pid = self._new_id()
        at = to_micros(now)
        row = Row(
            id=pid,
            account_id=compiled.account_id,
            flow_id=compiled.flow_id,
            version=compiled.version,
            person_id=person.id,
            phase=Phase.running.value,
            element=None,
            variables={},
            entry_event=event,
            local={},
            message_events=[],
            wake_at=None,
            waiting_for=None,
            waiting_element=None,
            entered_at=at,
            exited_at=None,
            exit_reason=None,
        )
        batch.rows[pid] = row
        batch.new_ids.add(pid)
        batch.live[(compiled.flow_id, person.id)] = pid
        batch.of_person[person.id].add(pid)
        # people once (store/counts.py): a first entry into the flow, and into the version
        account, flow = compiled.account_id, compiled.flow_id
        if not past:
            batch.changes.counters[(account, flow, 0, "", "people.profilesInFlow")] += 1
        if not any(p.version == compiled.version for p in past):
            batch.changes.counters[
                (account, flow, compiled.version, "", "people.profilesInFlow")
            ] += 1
        batch.history.setdefault(compiled.flow_id, {}).setdefault(person.id, []).append(
            Past(now, None, compiled.version)
        )
        self._step(batch, persons, pid, Entered(variables, event, hops), now)
        return None

    def _step(
        self,
        batch: Batch,
        persons: dict[int, Person],
        pid: int,
        stimulus: Stimulus,
        now: datetime,
    ) -> None:
        row = batch.rows[pid]
        compiled = self.programs.by_version.get((row.flow_id, row.version))
        person = persons.get(row.person_id)
        if compiled is None or person is None or row.phase == Phase.exited:
            return
        if not compiled.runs and not isinstance(stimulus, Canceled):
            return
        # The step function never raises on data: an error is a bug of this version's
        # program, and fails the version alone (engine/failures.py).
        with blame(row.flow_id, row.version, row.element):
            step = advance(compiled.program, _state(row, person, compiled), stimulus, now)
        engaged_before = bool(row.message_events) and _engaged(row.message_events)
        _apply(row, step.state, now, compiled)
        if not engaged_before and row.message_events and _engaged(row.message_events):
            key = (row.account_id, row.flow_id, row.version, "", "activeProfiles")
            batch.changes.counters[key] += 1
            batch.changes.visits.add(
                (row.account_id, row.flow_id, row.version, "#activeProfiles", row.person_id)
            )
        batch.active_flows.add(row.flow_id)
        if row.phase == Phase.exited:
            batch.live.pop((row.flow_id, row.person_id), None)
            batch.of_person[row.person_id].discard(row.id)
            for past in batch.history.get(row.flow_id, {}).get(row.person_id, []):
                if past.exited_at is None:
                    batch.history[row.flow_id][row.person_id] = [
                        p if p is not past else Past(p.entered_at, now, p.version)
                        for p in batch.history[row.flow_id][row.person_id]
                    ]
                    break
        if step.state.person is not person:
            persons[row.person_id] = step.state.person
        for effect in step.effects:
            self._effect(batch, row, effect, now)
        batch.touched.add(row.id)

    def _effect(self, batch: Batch, row: Row, effect: Effect, now: datetime) -> None:
        match effect:
            case Count():  # most effects are counts and trace lines: no row
                name, element = effect.name, effect.element
                key = (row.account_id, row.flow_id, row.version, element or "", name)
                batch.changes.counters[key] += effect.by
                if name == "totalEngagements" and element:
                    batch.changes.visits.add(
                        (row.account_id, row.flow_id, row.version, element, row.person_id)
                    )
                elif element is None and name in PEOPLE_ONCE:  # counted once a person
                    batch.changes.visits.add(
                        (row.account_id, row.flow_id, row.version, f"#{name}", row.person_id)
                    )
            case Trace():
                # Every line of a batch happened at its instant: the row keeps it once.
                line = [effect.element, effect.what]
                if effect.why is not None:
                    line.append(effect.why)
                batch.trace[row.id].append(line)
            case SendMessage() | Notify():
                where = (row.account_id, row.id, row.flow_id, row.version, row.person_id)
                batch.changes.outbox.append(message_row(where, to_micros(now), effect))
            case CallApi():
                where = (row.account_id, row.id, row.flow_id, row.version, row.person_id)
                batch.changes.outbox.append(call_row(where, to_micros(now), effect))
            case UpdateProfile():
                batch.profile[row.person_id].append(effect)
            case LookupCatalog():
                batch.lookups.append(catalogs.asked(row, effect, self.partition_of(row.person_id)))
            case AddToFlow():
                batch.changes.new_inbox.append(
                    {
                        "account_id": row.account_id,
                        "partition": self.partition_of(row.person_id),
                        "person_id": row.person_id,
                        "kind": "enter",
                        "flow_id": effect.flow_id,
                        "payload": {
                            "variables": dict(effect.variables),
                            "hops": effect.hops,
                            "from": {
                                "flow": row.flow_id,
                                "version": row.version,
                                "element": effect.element,
                                "participation": row.id,
                            },
                        },
                        "due_at": to_micros(now),
                    }
                )
            case _:
                assert_never(effect)

    # --- writing -------------------------------------------------------------------------------

    def _write(
        self,
        conn: Connection,
        batch: Batch,
        at: int,
        also: Callable[[Connection], Any] | None = None,
    ) -> Any:
        self.scope.fence(conn)
        write_changes(conn, replace(batch.changes, outbox=[], at=at))
        if self.programs.call_accounts:  # voice elements on a caller's live call
            calls.on_calls(conn, batch.changes.outbox, self.programs.call_accounts)
        # after the participations: a report goes to whoever now waits for it
        dispatch.hand_over(
            conn,
            batch.changes.outbox,
            at,
            partitions=self.partitions,
            quiet=self.quiet,
            figures=self.figures,
            routes=self.programs.routes,
            links=self.links,
        )
        if batch.callers:  # callers whose journeys left voice elements are hung up on
            live = {  # the callers' live participations only (not the whole batch's)
                person: [batch.rows[pid] for pid in batch.of_person.get(person, ())]
                for _account, person in batch.callers
            }
            calls.hang_up_idle(conn, batch.callers, live, self.programs.by_version, at)
        # The "run for 1 year" rule counts from the last time an element fired.
        mark_active(conn, sorted(batch.active_flows), at)
        if batch.profile:
            apply_profile_updates(conn, batch.profile, now=at)
        if also is not None and any(o["kind"] == "call_api" for o in batch.changes.outbox):
            return also(conn)
        return None

    def _idle_moves(self, at: int) -> int:
        """What the leading engine does when nothing is due: people of canceled versions
        leave, and one-off audiences whose people have all left finish."""
        return self._end_canceled(at) + self._finish_one_offs(at) + self._hang_up_quiet(at)

    def _hang_up_quiet(self, at: int) -> int:
        """Hang up answered calls whose people are at no voice element any more, though no
        batch moved them there (calls.quiet_callers): looked for with a read first."""
        if not self.took_calls:
            return 0
        programs = self.programs.by_version
        with self.db.read() as conn:
            callers, live = calls.quiet_callers(conn, programs, at)
        if not callers:
            return 0

        def write(conn: Connection) -> int:
            self.scope.fence(conn)
            return calls.hang_up_idle(conn, callers, live, programs, at)

        return int(self.db.write(write))

    def _finish_one_offs(self, at: int) -> int:
        """An active one-off audience version (DESIGN.md: it needs no end) finishes once
        every queued entry was taken and everyone who entered has left; until then it
        stays active (it can be paused). Looked for with reads first (an inbox probe and
        two counters a version): an idle engine takes no write lock."""
        one_offs = [c for c in self.programs.active.values() if c.one_off]
        if not one_offs:
            return 0
        with self.db.read() as conn:
            one_offs = [c for c in one_offs if _drained(conn, c)]
        if not one_offs:
            return 0

        def write(conn: Connection) -> int:
            self.scope.fence(conn)
            done = 0
            for c in one_offs:
                status = flow_store.read_version(conn, c.account_id, c.flow_id, c.version).status
                if status is Status.active and _drained(conn, c):
                    flow_store.set_version_status(
                        conn, c.account_id, c.flow_id, c.version, Status.finished, now=at
                    )
                    done += 1
            return done

        done = int(self.db.write(write))
        if done:
            self.programs.invalidate()
        return done

    def _end_canceled(self, at: int) -> int:
        """People of canceled versions leave at once, set-based."""
        canceled = self.programs.canceled
        if not canceled:
            return 0

        def write(conn: Connection) -> int:
            self.scope.fence(conn)
            done = 0
            for flow_id, version in canceled:
                done += end_version(conn, flow_id, version, "canceled", at)
            return done

        return int(self.db.write(write))


def _drained(conn: Connection, compiled: Compiled) -> bool:
    """Whether a one-off audience has entered and left: no entry queued, nobody inside."""
    key = (compiled.account_id, compiled.flow_id)
    return not audience.entries_queued(conn, *key) and not people_inside(
        conn, *key, compiled.version
    )


def _state(row: Row, person: Person, compiled: Compiled) -> State:
    """The domain's state of a participation row (its awaited event by name)."""
    waiting_for = row.waiting_for
    if row.phase == Phase.waiting:
        waiting_for = read_waiting_for(compiled.program, row.element, waiting_for)
    return State(
        participation_id=row.id,
        flow_id=row.flow_id,
        version=row.version,
        person=person,
        phase=Phase(row.phase),
        element=row.element,
        variables=row.variables,
        entry_event=row.entry_event,
        entered_at=from_micros(row.entered_at),
        wake_at=None if row.wake_at is None else from_micros(row.wake_at),
        waiting_for=waiting_for,
        waiting_element=row.waiting_element,
        message_events=frozenset((e[0], e[1]) for e in row.message_events),
        local=row.local,
        exit_reason=row.exit_reason,
    )


def _apply(row: Row, state: State, now: datetime, compiled: Compiled) -> None:
    """The new state on the row (programs.apply_moved: as the store keeps it)."""
    apply_moved(row, compiled.program, state, to_micros(now))
    row.variables = dict(state.variables)
    row.message_events = (
        sorted([list(e) for e in state.message_events]) if state.message_events else []
    )


def _engaged(message_events: list[list[str]]) -> bool:
    """Active profiles: people who saw or clicked one of the flow's messages."""
    return any(kind in ("seen", "clicked") for _, kind in message_events)
