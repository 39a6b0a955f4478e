"""Compiled programs of every launched version, kept in memory and refreshed each batch.

A version is compiled once (and again only when its document changes, as in-place edits
of goal, schedule and audience do); event-entry flows are indexed by (account, event),
and the versions with a goal by (account, goal event): a goal event goes to every live
participation of the person in such a version, whatever they wait for.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.entry_rules import EntryRules
from tidings.domain.flows import FlowDocument, ValidationContext, parse_document
from tidings.domain.flows.entry import InboundEntry, one_off
from tidings.domain.journey import Phase, State, compile_program
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import UniformMove
from tidings.domain.lifecycle import Status
from tidings.domain.people import STANDARD_TYPES
from tidings.domain.routes import Routes
from tidings.engine.failures import blame
from tidings.engine.interest import names_of
from tidings.store import connections, versions
from tidings.store.definitions import attribute_types, event_types
from tidings.store.participations import Row

LIVE = (Status.active, Status.paused, Status.finishing, Status.canceled)  # failed: held


@dataclass
class Compiled:
    account_id: int
    flow_id: int
    version: int
    status: Status
    document: FlowDocument
    program: Any
    rules: EntryRules
    timezone: str
    digest: str

    @property
    def takes_entries(self) -> bool:
        return self.status is Status.active

    @property
    def one_off(self) -> bool:
        """A predefined audience that is never updated: everyone enters at launch, and
        the version finishes when its last person leaves (DESIGN.md, Flow documents)."""
        return one_off(self.document.entry)

    @property
    def runs(self) -> bool:
        """Its people move (a paused version holds them; a canceled one ends them)."""
        return self.status in (Status.active, Status.finishing)


class Programs:
    def __init__(self) -> None:
        self.by_version: dict[tuple[int, int], Compiled] = {}
        self.event_entries: dict[tuple[int, str], list[Compiled]] = {}
        self.active: dict[int, Compiled] = {}  # flow id -> its active version
        self.goals: dict[tuple[int, str], set[tuple[int, int]]] = {}  # -> (flow, version)
        self.canceled: list[tuple[int, int]] = []  # (flow, version) whose people leave
        # accounts with a live version that enters on calls (an inbound voice entry): their
        # voice messages may act on a live call (engine/calls.py)
        self.call_accounts: frozenset[int] = frozenset()
        self.routes = Routes()  # which connection each message goes out through
        self._stamp: tuple[object, ...] = ()
        self._routes_stamp: tuple[object, ...] = ()

    def refresh(self, conn: Connection) -> None:
        """Re-read the live versions when any flow changed since the last look (its last
        change, or any version's status), or when told to (`invalidate`); and the routes
        when any connection changed."""
        routes_stamp = connections.stamp(conn)
        if routes_stamp != self._routes_stamp:
            self.routes = Routes.of(connections.routes(conn))
            self._routes_stamp = routes_stamp
        live = [s.value for s in LIVE]
        stamp = versions.stamp(conn, live)
        if stamp == self._stamp:
            return
        rows = versions.versions_of(conn, live)
        zones = versions.time_zones(conn)
        known: dict[tuple[int, int], Compiled] = {}
        schemas: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        canceled: list[tuple[int, int]] = []
        for account_id, flow_id, version, status, document in rows:
            if status == Status.canceled.value:
                # Nobody moves in a canceled version: its people are ended set-based
                # (Engine._end_canceled), whether or not its program compiles.
                canceled.append((flow_id, version))
                continue
            digest = hashlib.blake2b(
                orjson.dumps(document, option=orjson.OPT_SORT_KEYS), digest_size=16
            ).hexdigest()
            key = (flow_id, version)
            cached = self.by_version.get(key)
            if cached is not None and cached.digest == digest:
                cached.status = Status(status)
                known[key] = cached
                continue
            if account_id not in schemas:
                schemas[account_id] = (
                    event_types(conn, account_id),
                    {**STANDARD_TYPES, **attribute_types(conn, account_id)},
                )
            events, attributes = schemas[account_id]
            with blame(flow_id, version):  # a version that does not compile fails alone
                doc = parse_document(document)
                zone = doc.timezone or zones.get(account_id, "UTC")
                known[key] = Compiled(
                    account_id=account_id,
                    flow_id=flow_id,
                    version=version,
                    status=Status(status),
                    document=doc,
                    program=compile_program(
                        doc,
                        flow_id=flow_id,
                        version=version,
                        account_timezone=zone,
                        context=ValidationContext(events=events, attributes=attributes),
                    ),
                    rules=EntryRules.of(doc),
                    timezone=zone,
                    digest=digest,
                )
        self._stamp = stamp
        self.by_version = known
        self.canceled = canceled
        entries: dict[tuple[int, str], list[Compiled]] = defaultdict(list)
        goals: dict[tuple[int, str], set[tuple[int, int]]] = defaultdict(set)
        self.active = {}
        self.call_accounts = frozenset(
            c.account_id
            for c in known.values()
            if isinstance(c.document.entry, InboundEntry) and c.document.entry.channel == "voice"
        )
        for compiled in known.values():
            goal = compiled.program.goal
            if goal is not None:
                goals[(compiled.account_id, goal.event)].add((compiled.flow_id, compiled.version))
            if compiled.status is Status.active:
                self.active[compiled.flow_id] = compiled
                if compiled.rules.event:
                    entries[(compiled.account_id, compiled.rules.event)].append(compiled)
        self.event_entries = dict(entries)
        self.goals = dict(goals)

    def waiting_for(
        self, flow_id: int, version: int, element: str | None, stored: str | None
    ) -> str | None:
        """The event a waiting participation waits for, from its row: the `waiting_for`
        column, or when that is NULL the event of the element it waits at
        (`stored_waiting_for`). None: no event (or a version that is not loaded, whose
        people no stimulus moves)."""
        if stored is not None or element is None:
            return stored
        compiled = self.by_version.get((flow_id, version))
        return None if compiled is None else compiled.program.awaited(element)

    def quiet(self, account_id: int, name: str) -> bool:
        """Whether no flow enters on the event `name` or counts it as its goal (then a
        report for a person who waits nowhere needs no step: see dispatch.py)."""
        key = (account_id, name)
        return not self.event_entries.get(key) and not self.goals.get(key)

    def invalidate(self) -> None:
        self._stamp = ()
        self._routes_stamp = ()

    def interest(self) -> set[tuple[int, str]]:
        """(account, event name) pairs the live versions react to (see interest.py)."""
        out: set[tuple[int, str]] = set()
        for compiled in self.by_version.values():
            if compiled.status is Status.canceled:
                continue  # scheduled versions are added by Interest.refresh
            document = compiled.document.model_dump(mode="json", by_alias=True)
            out |= {(compiled.account_id, name) for name in names_of(document)}
        return out


# --- waiting_for at the store's edge ---------------------------------------------------------
# A participation's `waiting_for` column is NULL when the person waits for the event of
# the element they wait at (a wait_for_event's own `event`): the program knows it, so the
# store does not repeat it on every waiting row. Rows that name it (written before) read
# the same. The domain (State.waiting_for) always sees the name.


def stored_waiting_for(
    program: Program, element: str | None, waiting_for: str | None
) -> str | None:
    """What the `waiting_for` column keeps for a person at `element` waiting for
    `waiting_for`: NULL when that is the element's own event."""
    if waiting_for is not None and waiting_for == program.awaited(element):
        return None
    return waiting_for


def apply_moved(row: Row, program: Program, state: State | UniformMove, at: int) -> None:
    """What a step (`State`) or a set-based move at `at` sets on a participation, on
    `row`, as the store keeps it: the awaited event NULL when it is the element's own
    (`stored_waiting_for`); an exit stamped once, `completed` unless the state says
    why. The one encoding of a move: Engine._apply and bulk/moves.move_state use it."""
    row.phase = state.phase.value
    row.element = state.element
    row.local = dict(state.local)
    wake_at = state.wake_at
    row.wake_at = None if wake_at is None else to_micros(wake_at)
    row.waiting_for = stored_waiting_for(program, state.element, state.waiting_for)
    row.waiting_element = state.waiting_element
    if state.phase is Phase.exited and row.exited_at is None:
        row.exited_at = at
        row.exit_reason = state.exit_reason or "completed"


def read_waiting_for(program: Program, element: str | None, stored: str | None) -> str | None:
    """The event a participation waits for, from its `waiting_for` column (the inverse
    of `stored_waiting_for` for a waiting row)."""
    return stored if stored is not None else program.awaited(element)
