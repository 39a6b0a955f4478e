"""Every difference between SQLite and PostgreSQL that the store cares about, in one place."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

Dialect = Literal["sqlite", "postgresql"]


def dialect_of(url: str) -> Dialect:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise ValueError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///path/to/file.db "
        "or postgresql+psycopg://user@host:port/db"
    )


def configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    """WAL, foreign keys, a busy timeout, and full fsync at commit: an answered write is on
    disk. `immediate` makes every transaction take the write lock at BEGIN, which is how the
    single writer avoids SQLITE_BUSY on lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def json_text(dialect: Dialect, column: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    """`column ->> key` as text on both databases."""
    if dialect == "postgresql":
        return column.op("->>")(key)
    from sqlalchemy import func

    return func.json_extract(column, f'$."{key}"')


def json_param(dialect: Dialect) -> str:
    """The placeholder for a JSON text parameter in raw driver SQL."""
    return "%s::jsonb" if dialect == "postgresql" else "?"


def param(dialect: Dialect) -> str:
    """The driver's positional placeholder."""
    return "%s" if dialect == "postgresql" else "?"


def insert_ignore(dialect: Dialect, table: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` for either database."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
