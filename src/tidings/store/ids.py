"""Fresh ids taken before the insert that uses them (participations and outbox, which the
engine alone inserts into; people an import creates): a counter from MAX(id) on SQLite
(inside the writer's transaction: SQLite has one writer, so nobody else takes one), the
sequence on PostgreSQL.

An id known beforehand saves an `INSERT ... RETURNING` on SQLite, whose driver steps the
statement once for each returned row and lets go of the interpreter's lock every time: in
a process whose other thread computes, each row then waited for the lock.
"""

from __future__ import annotations

from sqlalchemy import Connection


def next_ids(conn: Connection, count: int, table: str = "participations") -> list[int]:
    """`count` fresh ids of `table` (on SQLite, call inside the writer's transaction)."""
    if count == 0:
        return []
    assert table in ("participations", "outbox", "people")
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
            f"FROM generate_series(1, {int(count)})"
        )
        return [int(r[0]) for r in rows]
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
    seq = conn.exec_driver_sql(f"SELECT seq FROM sqlite_sequence WHERE name = '{table}'").scalar()
    start = max(int(top or 0), int(seq or 0)) + 1
    return list(range(start, start + count))
