"""Fresh ids of the tables the engine alone inserts into (participations, outbox): a
counter from MAX(id) on SQLite (inside the writer's transaction), the sequence on
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Connection


def next_ids(conn: Connection, count: int, table: str = "participations") -> list[int]:
    """`count` fresh ids of `table` (participations or outbox: the engine is their only
    inserter; on SQLite, inside the writer's transaction, nobody else takes one)."""
    if count == 0:
        return []
    assert table in ("participations", "outbox")
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
