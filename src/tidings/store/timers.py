"""Timers: waiting participations whose `wake_at` has come (the due index on
participations), as the engine looks for them before a batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from tidings.store.dialect import (
    dialect_of_conn,
    param,
)
from tidings.store.participations import SELECT_ROWS, Row, raw_rows
from tidings.store.raw import chunks, fetch, person_partition_sql
from tidings.store.tables import (
    WAITING,
)


def due_timers(
    conn: Connection,
    now: int,
    limit: int,
    owned: frozenset[int] | None = None,
    *,
    partitions: int,
) -> list[Row]:
    p = param(dialect_of_conn(conn))
    return raw_rows(
        conn,
        f"{SELECT_ROWS} WHERE phase = {WAITING} AND wake_at IS NOT NULL AND wake_at <= {p}"
        f"{person_partition_sql(owned, partitions)} ORDER BY wake_at LIMIT {int(limit)}",
        (now,),
    )


def first_timer(
    conn: Connection, now: int, owned: frozenset[int] | None = None, *, partitions: int
) -> int | None:
    """When the earliest timer due at `now` or before comes (None: no timer is due)."""
    p = param(dialect_of_conn(conn))
    found = fetch(
        conn,
        f"SELECT wake_at FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
        f"AND wake_at <= {p}{person_partition_sql(owned, partitions)} ORDER BY wake_at LIMIT 1",
        (now,),
    )
    return int(found[0][0]) if found else None


def timed_people(conn: Connection, people: Iterable[int], at: int) -> set[int]:
    """Those of these people with a timer due at `at` or before (the awaiting index by
    person: their few waiting rows each)."""
    p = param(dialect_of_conn(conn))
    out: set[int] = set()
    for chunk in chunks(sorted(set(people))):
        out.update(
            r[0]
            for r in fetch(
                conn,
                f"SELECT DISTINCT person_id FROM participations WHERE phase = {WAITING} "
                f"AND person_id IN ({', '.join([p] * len(chunk))}) "
                f"AND wake_at IS NOT NULL AND wake_at <= {p}",
                (*chunk, at),
            )
        )
    return out


def due_elements(
    conn: Connection,
    now: int,
    limit: int,
    owned: frozenset[int] | None = None,
    *,
    partitions: int,
) -> list[tuple[int, int, str | None]]:
    """The (flow, version, element) of the next `limit` timers due at `now` or before."""
    p = param(dialect_of_conn(conn))
    return fetch(
        conn,
        "SELECT DISTINCT flow_id, version, element FROM (SELECT flow_id, version, element "
        f"FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
        f"AND wake_at <= {p}{person_partition_sql(owned, partitions)} "
        f"ORDER BY wake_at LIMIT {int(limit)}) AS head",
        (now,),
    )


def due_at_element(
    conn: Connection,
    now: int,
    where: tuple[int, int, str | None],
    limit: int,
    owned: frozenset[int] | None = None,
    *,
    partitions: int,
) -> list[int]:
    """The participations whose timer is due at `now` or before at `where` (flow,
    version, element), with no element-local state, up to `limit`, soonest first."""
    p = param(dialect_of_conn(conn))
    # `+flow_id` keeps SQLite on the due index: by the flow it picked the history index
    # and sorted every waiting row of the flow (a scan of 1M per batch).
    rows = fetch(
        conn,
        f"SELECT id FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
        f"AND wake_at <= {p} AND +flow_id = {p} AND version = {p} AND element = {p} "
        f"AND local IS NULL{person_partition_sql(owned, partitions)} "
        f"ORDER BY wake_at LIMIT {int(limit)}",
        (now, *where),
    )
    return [r[0] for r in rows]
