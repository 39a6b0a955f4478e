"""Raw driver SQL for the engine's hot reads: rows fetched or streamed straight from the
driver's cursor, lists in chunks, and clauses that keep a query to owned partitions.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

CHUNK = 500


def fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Rows of a raw query straight from the driver's cursor, inside `conn`'s transaction
    (SQLAlchemy's per-row result handling cost more than the query on engine reads)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def stream(
    conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 1000
) -> Generator[list[Any], None, None]:
    """The rows of a raw query `size` at a time, inside `conn`'s transaction, fetched
    only as they are asked for: SQLite steps its statement lazily; on PostgreSQL a
    server-side cursor holds the rest. Stop early and nothing more is read."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"tidings_stream_{next(_cursors)}")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params if isinstance(params, Mapping) else tuple(params))
        while rows := cursor.fetchmany(size):
            yield list(rows)
    finally:
        cursor.close()


_cursors = itertools.count()


def partition_sql(owned: frozenset[int] | None, column: str = "partition") -> str:
    """An `AND ...` clause restricting raw SQL to owned partitions (ints only, inlined);
    None means every partition."""
    if owned is None:
        return ""
    if not owned:
        return " AND 1 = 0"
    return f" AND {column} IN ({', '.join(str(int(p)) for p in sorted(owned))})"


def person_partition_sql(owned: frozenset[int] | None, partitions: int) -> str:
    """`partition_sql` for a table that has the person, not the partition (participations,
    outbox): a person's partition is person_id % P, P fixed at install (DESIGN.md). The
    remainder is spelled without `%`, which psycopg would read as a placeholder."""
    n = int(partitions)
    return partition_sql(owned, f"(person_id - person_id / {n} * {n})")


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """`items` in slices of `CHUNK` (one statement's list each)."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
