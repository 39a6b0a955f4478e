"""Every difference between SQLite and PostgreSQL that the store cares about, in one place."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    Numeric,
    Text,
    case,
    cast,
    event,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

Dialect = Literal["sqlite", "postgresql"]
WAL_SIZE_LIMIT = 64 * 2**20


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
    """WAL (kept to 64 MiB between checkpoints), foreign keys, a busy timeout, and full
    fsync at commit: an answered write is on disk. `immediate` makes every transaction take
    the write lock at BEGIN, which is how the single writer avoids SQLITE_BUSY on lock
    upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        # A WAL grows to its largest transaction (a launch queues every member in one) and
        # keeps that size; this gives the space back at the next checkpoint beyond 64 MiB.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
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


def ids_in(column: str, ids: Iterable[int]) -> str:
    """`column` among `ids` (not empty) as inlined SQL: ranges for the runs without a gap
    (ids one writer numbered: SQLite parses and probes a 2,000-long list for every
    statement, and a range costs it nothing), a list for the rest."""
    distinct = set(ids)  # ints (typed); whatever is written into the SQL goes through int()
    first, last = int(min(distinct)), int(max(distinct))
    if last - first + 1 == len(distinct):  # one run: a part's rows, the usual case
        return f"{column} BETWEEN {first} AND {last}"
    ordered = sorted(map(int, distinct))
    ranges: list[str] = []
    single: list[int] = []
    start = 0
    for end in range(1, len(ordered) + 1):
        if end < len(ordered) and ordered[end] == ordered[end - 1] + 1:
            continue
        if end - start >= MIN_RUN:
            ranges.append(f"{column} BETWEEN {ordered[start]} AND {ordered[end - 1]}")
        else:
            single += ordered[start:end]
        start = end
    if single:
        ranges.append(f"{column} IN ({', '.join(map(str, single))})")
    return ranges[0] if len(ranges) == 1 else f"({' OR '.join(ranges)})"


MIN_RUN = 16  # ids in a row written as a range (shorter runs join the list)
VALUES_ROWS = 1000  # rows a multi-row statement takes at most
VALUES_PARAMS = 30_000  # ... and parameters (SQLite's limit is 32,766, PostgreSQL's 65,535)


def insert_values(
    conn: Connection, head: str, marks: str, rows: Sequence[Sequence[Any]], tail: str = ""
) -> None:
    """`{head} VALUES ({marks}), ({marks}), ... {tail}` for every row of `rows`: a
    statement for up to VALUES_ROWS rows, not a call of the driver's for each
    (`executemany`). The driver lets go of the interpreter's lock for a statement while
    the database works, and takes it back after: a row at a time, a writer thread waited
    for the lock after every row while the engine's thread computed (up to
    `sys.getswitchinterval()` each time), so the two ran one after the other."""
    if not rows:
        return
    step = max(1, min(VALUES_ROWS, VALUES_PARAMS // max(len(rows[0]), 1)))
    one = f"({marks})"
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        values = ", ".join([one] * len(chunk))
        conn.exec_driver_sql(
            f"{head} VALUES {values}{' ' + tail if tail else ''}",
            tuple(chain.from_iterable(chunk)),
        )


def insert_ignore(dialect: Dialect, table: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` for either database."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


# --- typed reads of JSON documents (segments) -------------------------------------------
# Each returns SQL NULL unless the value under `key` has the JSON type asked for, so a
# value of the wrong type is "absent" on both databases instead of a cast error on one.


def _path(key: str) -> str:
    return f'$."{key}"'  # keys are checked names: letters, digits and _


def _pg_typed(column: ColumnElement[Any], key: str, json_type: str) -> ColumnElement[bool]:
    return func.jsonb_typeof(column.op("->")(literal(key, Text()))) == json_type


def json_string(dialect: Dialect, column: ColumnElement[Any], key: str) -> ColumnElement[str]:
    """The JSON string under `key` as text."""
    if dialect == "postgresql":
        text = column.op("->>", return_type=Text())(literal(key, Text()))
        return case((_pg_typed(column, key, "string"), text))
    path = _path(key)
    return type_coerce(
        case((func.json_type(column, path) == "text", func.json_extract(column, path))), Text()
    )


def json_number(dialect: Dialect, column: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    """The JSON number under `key`, as NUMERIC on PostgreSQL (exact) and SQLite's own."""
    if dialect == "postgresql":
        text = column.op("->>", return_type=Text())(literal(key, Text()))
        return case((_pg_typed(column, key, "number"), cast(text, Numeric())))
    path = _path(key)
    return case(
        (func.json_type(column, path).in_(["integer", "real"]), func.json_extract(column, path))
    )


def json_boolean(dialect: Dialect, column: ColumnElement[Any], key: str) -> ColumnElement[str]:
    """The JSON boolean under `key` as the text `true` or `false`."""
    if dialect == "postgresql":
        text = column.op("->>", return_type=Text())(literal(key, Text()))
        return case((_pg_typed(column, key, "boolean"), text))
    kind = func.json_type(column, _path(key))
    return type_coerce(case((kind.in_(["true", "false"]), kind)), Text())


def json_array_present(
    dialect: Dialect, column: ColumnElement[Any], key: str
) -> ColumnElement[bool]:
    """Whether `key` holds a JSON array: true or false, never NULL."""
    if dialect == "postgresql":
        kind = func.jsonb_typeof(column.op("->")(literal(key, Text())))
    else:
        kind = func.json_type(column, _path(key))
    return func.coalesce(kind, "") == "array"


def json_array_contains(
    dialect: Dialect, column: ColumnElement[Any], key: str, item: str | float
) -> ColumnElement[bool]:
    """Whether the JSON array under `key` holds `item` (a text or a number)."""
    if dialect == "postgresql":
        array = column.op("->")(literal(key, Text()))
        return array.op("@>", is_comparison=True)(cast(literal(json.dumps([item])), JSONB))
    each = func.json_each(column, _path(key)).table_valued("value", "type")
    wanted = (
        each.c.type == "text" if isinstance(item, str) else each.c.type.in_(["integer", "real"])
    )
    return exists(select(1).select_from(each).where(wanted, each.c.value == item))


def text_contains(
    dialect: Dialect, haystack: ColumnElement[Any], needle: str
) -> ColumnElement[bool]:
    """Case-sensitive substring test (SQLite's LIKE ignores ASCII case, PostgreSQL's does not)."""
    find = func.strpos if dialect == "postgresql" else func.instr
    return find(haystack, literal(needle, Text())) > 0


def sql_literal(value: Any) -> str | None:
    """`value` as an SQL literal: an int, NULL or a quoted text (quotes doubled, as both
    databases read a standard string); None when it cannot be one (anything else, or a
    text with a NUL). For values a batch shares, written once into a statement instead
    of bound for each row."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


# --- what each database kind means for the processes around it (bootstrap, cli) ---------


def embedded(dialect: str) -> bool:
    """SQLite: one process holds the API and the only engine of the file (so ingest may
    skip events no live flow reacts to); on PostgreSQL other processes share the store."""
    return dialect == "sqlite"


def leases_partitions(dialect: str) -> bool:
    """PostgreSQL: engines (`tidings worker`, serve's own) lease their share of the
    partitions and run side by side; SQLite has one engine, which holds them all."""
    return dialect == "postgresql"


# --- JSON and locking in raw SQL text (the outbox's statements: store/outbox.py) ---------


def sql_json_text(dialect: Dialect, column: str, key: str) -> str:
    """A JSON column's member as text."""
    if dialect == "postgresql":
        return f"{column}->>'{key}'"
    return f"json_extract({column}, '$.{key}')"


def sql_json_value(dialect: Dialect, column: str, key: str) -> str:
    """A JSON column's member as JSON (an object stays an object)."""
    if dialect == "postgresql":
        return f"{column}->'{key}'"
    return f"json_extract({column}, '$.{key}')"


def sql_json_int(dialect: Dialect, column: str, key: str) -> str:
    """A JSON column's member as an integer."""
    if dialect == "postgresql":
        return f"({column}->>'{key}')::int"
    return f"json_extract({column}, '$.{key}')"


def sql_json_bool(dialect: Dialect, column: str, key: str) -> str:
    """A JSON column's member as a boolean (SQLite: 0 or 1)."""
    if dialect == "postgresql":
        return f"({column}->>'{key}')::boolean"
    return f"json_extract({column}, '$.{key}')"


def sql_empty_object(dialect: Dialect) -> str:
    """The empty JSON object as a literal of the JSON column type."""
    return "'{}'::jsonb" if dialect == "postgresql" else "'{}'"


def sql_false(dialect: Dialect) -> str:
    return "false" if dialect == "postgresql" else "0"


def sql_build_object(dialect: Dialect) -> str:
    """The function that builds a JSON object from key, value, key, value ..."""
    return "jsonb_build_object" if dialect == "postgresql" else "json_object"


def sql_skip_locked(dialect: Dialect) -> str:
    """The tail of a SELECT that claims rows: on PostgreSQL it locks them and skips those
    another worker holds; SQLite has one writer and needs none."""
    return " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
