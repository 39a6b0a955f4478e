"""Events: the hot ingest path (multi-row inserts) and the per-person history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, select

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.store.dialect import dialect_of_conn, insert_values, json_param, param
from tidings.store.tables import events, people
from tidings.store.wakeups import notify_work


class EventRow(NamedTuple):
    """An event as written (instants in micros), by ingest and by the engine."""

    account_id: int
    person_id: int
    name: str
    properties: str  # JSON text
    time: int
    received_at: int


# An EventRow's values as a plain tuple (it is one): what ingest builds until it builds
# EventRows (api/ingest.py imports it under the old name; its owner moves it).
EventValues = tuple[int, int, str, str, int, int]


def insert_events(
    conn: Connection, rows: Sequence[EventValues], *, skip_deleted: bool = False
) -> None:
    """Append events with multi-row inserts of raw driver SQL (DESIGN.md: hot paths skip Core's
    per-row compilation, which costs twice as much). `skip_deleted`: rows of people
    deleted since (delivery reports kept by the engine) are not written."""
    if not rows:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    columns = "INSERT INTO events (account_id, person_id, name, properties, time, received_at)"
    if not skip_deleted:
        insert_values(conn, columns, f"{p}, {p}, {p}, {j}, {p}, {p}", rows)
        return
    conn.exec_driver_sql(
        f"{columns} SELECT {p}, {p}, {p}, {j}, {p}, {p} "
        f"WHERE EXISTS (SELECT 1 FROM people WHERE id = {p})",
        [(*row, row[1]) for row in rows],
    )


def insert_inbox_events(conn: Connection, rows: Sequence[EventValues], *, partitions: int) -> None:
    """The same events as engine stimuli (kind `event`), due when received."""
    if not rows:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    insert_values(
        conn,
        "INSERT INTO inbox (account_id, partition, person_id, kind, payload, due_at)",
        f"{p}, {p}, {p}, 'event', {j}, {p}",
        [
            (
                account,
                person % partitions,
                person,
                f'{{"name":{orjson.dumps(name).decode()},"properties":{properties},"time":{when}}}',
                received,
            )
            for account, person, name, properties, when, received in rows
        ],
    )
    notify_work(conn)


def encode_properties(properties: dict[str, Any]) -> str:
    return orjson.dumps(properties).decode()


def list_person_events(
    conn: Connection,
    account_id: int,
    person_id: int,
    *,
    name: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """A person's events, newest first; 404 when the person is not the account's."""
    exists = conn.execute(
        select(people.c.id).where(people.c.account_id == account_id, people.c.id == person_id)
    ).first()
    if exists is None:
        raise NotFound(f"person {person_id} does not exist")
    query = (
        select(events.c.id, events.c.name, events.c.properties, events.c.time, events.c.received_at)
        .where(events.c.account_id == account_id, events.c.person_id == person_id)
        .order_by(events.c.time.desc(), events.c.id.desc())
        .limit(limit + 1)
        .offset(offset)
    )
    if name is not None:
        query = query.where(events.c.name == name)
    return [
        {
            "id": row.id,
            "name": row.name,
            "properties": row.properties,
            "time": format_micros(row.time),
            "receivedAt": format_micros(row.received_at),
        }
        for row in conn.execute(query)
    ]
