"""Everything one engine batch writes, in one transaction (`Changes`, `write_changes`):
participations, inbox, outbox, counters, visits, events and the trace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.store import mep, traces
from tidings.store.counts import add_counters, add_visits, count_reports
from tidings.store.dialect import (
    Dialect,
    dialect_of_conn,
    ids_in,
    insert_values,
    json_param,
    param,
)
from tidings.store.events import EventRow, insert_events
from tidings.store.inbox import InboxItem, take_from_bundles
from tidings.store.outbox import insert_outbox
from tidings.store.participations import Row, insert_rows, update_rows
from tidings.store.raw import chunks
from tidings.store.wakeups import notify_work


@dataclass
class Changes:
    """Everything one batch writes, in one transaction."""

    inserted: list[Row] = field(default_factory=list)
    updated: list[Row] = field(default_factory=list)
    consumed_inbox: list[int] = field(default_factory=list)
    # bundle row -> the people of it consumed (the row keeps the others)
    consumed_bundled: dict[int, list[int]] = field(default_factory=dict)
    new_inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[tuple[int, int, int, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    visits: set[tuple[int, int, int, str, int]] = field(default_factory=set)
    events: list[EventRow] = field(default_factory=list)
    # journey_steps rows: account, person, flow, version, participation, element, kind,
    # detail (JSON text), at
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    # when the batch happened (micros): the hour its counters add to (store/counts.py)
    at: int | None = None

    def consume(self, item: InboxItem) -> None:
        """Take `item` out of the inbox: its row, or its person out of a bundle."""
        if item.bundled:
            self.consumed_bundled.setdefault(item.id, []).append(item.person_id)
        else:
            self.consumed_inbox.append(item.id)

    def trace(
        self,
        where: tuple[int, int, int, int, int | None, str | None],
        kind: str,
        detail: Any,
        at: int,
    ) -> None:
        """A journey_steps row: `where` is (account, person, flow, version, participation,
        element); `detail` the lines of a "steps" row or the reason of a "refused" one."""
        self.steps.append((*where, kind, orjson.dumps(detail).decode(), at))


def write_changes(conn: Connection, changes: Changes) -> None:
    """One batch's writes: participations, inbox, outbox, counters, visits, events, and
    the trace (store/traces.py)."""
    dialect: Dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    insert_rows(conn, changes.inserted)
    update_rows(conn, changes.updated)
    consumed = changes.consumed_inbox
    if changes.consumed_bundled:
        consumed = [*consumed, *take_from_bundles(conn, dialect, changes.consumed_bundled)]
    for chunk in chunks(consumed):  # mostly a run of the inbox's head
        conn.exec_driver_sql(f"DELETE FROM inbox WHERE {ids_in('id', chunk)}")
    if changes.new_inbox:
        insert_values(
            conn,
            "INSERT INTO inbox (account_id, partition, person_id, kind, flow_id, version, "
            "participation_id, payload, due_at)",
            f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, {p}",
            [
                (
                    i["account_id"],
                    i["partition"],
                    i["person_id"],
                    i["kind"],
                    i.get("flow_id"),
                    i.get("version"),
                    i.get("participation_id"),
                    orjson.dumps(i["payload"]).decode(),
                    i["due_at"],
                )
                for i in changes.new_inbox
            ],
        )
        notify_work(conn)
    insert_outbox(conn, changes.outbox)
    if changes.counters:
        add_counters(conn, changes.counters, changes.at)
    mep.add_entries(conn, changes.inserted)  # MEP, after flow_counters as everywhere
    if changes.visits:
        add_visits(conn, changes.visits, changes.at)
    if changes.events:
        count_reports(conn, changes.events)
        insert_events(conn, changes.events)
    if changes.steps:
        traces.write_steps(conn, changes.steps)


def enqueue(conn: Connection, items: Sequence[dict[str, Any]]) -> None:
    """Add stimuli to the inbox (API entries, cancels, results)."""
    changes = Changes(new_inbox=list(items))
    write_changes(conn, changes)
