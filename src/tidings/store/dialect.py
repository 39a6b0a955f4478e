"""Every difference between SQLite and PostgreSQL that the store cares about, in one place."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    Numeric,
    Select,
    Text,
    case,
    cast,
    create_engine,
    event,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.sql.compiler import SQLCompiler
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
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
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
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        params = tuple(chain.from_iterable(chunk))
        if postgres:
            _execute_numbered(conn, _numbered(head, marks, tail, len(chunk)), params)
        else:
            conn.exec_driver_sql(_values_statement(head, marks, tail, len(chunk)), params)


def _values_statement(head: str, marks: str, tail: str, count: int) -> str:
    """`{head} VALUES ({marks}), ... {tail}` for `count` rows."""
    values = ", ".join([f"({marks})"] * count)
    return f"{head} VALUES {values}{' ' + tail if tail else ''}"


@lru_cache(maxsize=256)
def _numbered(head: str, marks: str, tail: str, count: int) -> str:
    """`_values_statement` for PostgreSQL, its `%s` numbered `$1, $2, ...` (the server's
    own placeholders) and `%%` a plain `%`, once for each shape.

    psycopg's usual cursor converts `%s` by scanning the text of every statement that
    has more than 50 parameters (it caches only small ones): py-spy of the engine
    process under `tidings bench journeys-http --database postgresql` had its writer
    thread in that scan (`_split_query`, `_query2pg_nocache`) for a third of the time it
    was not waiting for the server."""
    parts = _values_statement(head, marks, tail, count).replace("%%", "\0").split("%s")
    numbered = (f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    return "".join([parts[0], *numbered]).replace("\0", "%")


def _execute_numbered(conn: Connection, statement: str, params: tuple[Any, ...]) -> None:
    """Run a statement with `$n` placeholders on the connection's own psycopg connection
    (in its transaction), by a raw cursor: no conversion of the text. A driver error is
    raised as SQLAlchemy raises it (`DBAPIError` and its kinds)."""
    import psycopg  # PostgreSQL only: the driver is there when the URL names it

    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with psycopg.RawCursor(driver) as cursor:
            cursor.execute(statement, params)
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, params, error, psycopg.Error) from error


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


# --- what differs beyond SQL text: capabilities, engines, sessions ------------------------
# The store's modules call these instead of testing the database's name themselves.


def dialect_of_conn(conn: Connection) -> Dialect:
    """The dialect a connection speaks."""
    return dialect_of(conn.engine.url.drivername)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory databases and other dialects)."""
    if dialect_of(url) != "sqlite":
        return None
    name = make_url(url).database
    return Path(name) if name and name != ":memory:" else None


def create_engines(url: str, *, pool_size: int) -> tuple[Engine, Engine, Path | None]:
    """The read engine (pooled), the writer's engine, and the file the writers of several
    processes take turns by (SQLite's; PostgreSQL's writers need none)."""
    if dialect_of(url) == "sqlite":
        engine = create_engine(url, pool_size=pool_size, max_overflow=32)
        configure_sqlite(engine, immediate=False)
        write_engine = create_engine(url, poolclass=NullPool)
        configure_sqlite(write_engine, immediate=True)
        file = sqlite_file(url)
        return engine, write_engine, None if file is None else Path(f"{file}.write.lock")
    engine = create_engine(url, pool_size=pool_size, max_overflow=32, pool_pre_ping=True)
    return engine, create_engine(url, pool_size=2, pool_pre_ping=True), None


def migration_lock(conn: Connection, key: int) -> None:
    """Hold a lock until the transaction ends, so that processes migrating at once take
    turns: PostgreSQL's advisory lock; SQLite's writer (BEGIN IMMEDIATE) holds the file."""
    if dialect_of_conn(conn) == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")


def listens(dialect: Dialect) -> bool:
    """Whether the database tells other processes of new work (LISTEN/NOTIFY)."""
    return dialect == "postgresql"


def notify(conn: Connection, channel: str) -> None:
    """NOTIFY `channel` at commit (PostgreSQL); SQLite's one engine is woken directly."""
    if listens(dialect_of_conn(conn)):
        conn.exec_driver_sql(f"NOTIFY {channel}")


def several_engines(dialect: Dialect) -> bool:
    """Whether engines of several processes may share the work (PostgreSQL: they lease
    partitions); on SQLite the engine of `tidings serve` is the only one."""
    return dialect == "postgresql"


def binds_arrays(dialect: Dialect) -> bool:
    """Whether a Python list binds as one array parameter (PostgreSQL: `%s::text[]`,
    `unnest`), so one statement's shape serves any number of values; SQLite takes IN lists."""
    return dialect == "postgresql"


def scans_account_by_id(dialect: Dialect) -> bool:
    """Whether all of an account's people are best read by walking the table in id order,
    testing the account on each row (SQLite: by the account's index it sorts the members
    for an id order); PostgreSQL's planner does well with the index."""
    return dialect == "sqlite"


def for_update(conn: Connection, query: Select[Any]) -> Select[Any]:
    """`query` locking its rows until the transaction ends (PostgreSQL's FOR UPDATE; on
    SQLite the single writer's lock already excludes every other write)."""
    return query.with_for_update() if dialect_of_conn(conn) == "postgresql" else query


CACHE_KIB = 65536  # SQLite's page cache a connection (configure_sqlite)
SCAN_CACHE_KIB = 2048


@contextmanager
def scan_cache(conn: Connection) -> Iterator[None]:
    """A long scan read once (a report's rows) on a small page cache: SQLite's would fill
    its 64 MiB with pages never read again, and keep them after on this pooled
    connection; restored afterwards. PostgreSQL's cache is the server's."""
    if dialect_of_conn(conn) != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SCAN_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA shrink_memory")
        conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")


def shed_cache(conn: Connection) -> None:
    """Let go of this connection's cached pages beyond `SCAN_CACHE_KIB` (SQLite frees
    them when the cache shrinks; it may grow again at once): the writer, before it
    writes a piece of a report's file, so the pieces written before do not fill its
    cache. PostgreSQL: nothing."""
    if dialect_of_conn(conn) == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SCAN_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")


def set_local(conn: Connection, settings: dict[str, str]) -> None:
    """Session settings for the rest of this transaction (PostgreSQL's `set_config(...,
    true)`: application_name, timeouts); SQLite has none of these."""
    if dialect_of_conn(conn) != "postgresql" or not settings:
        return
    calls = ", ".join(["set_config(%s, %s, true)"] * len(settings))
    conn.exec_driver_sql(f"SELECT {calls}", tuple(chain.from_iterable(settings.items())))


def terminate_sessions(conn: Connection, application_names: Sequence[str]) -> list[bool]:
    """End the other sessions named so (PostgreSQL's `pg_terminate_backend`, waiting up to
    2 s each); answers whether each one ended. SQLite has no sessions to end."""
    if dialect_of_conn(conn) != "postgresql" or not application_names:
        return []
    ended = conn.exec_driver_sql(
        "SELECT pg_terminate_backend(pid, 2000) FROM pg_stat_activity "
        "WHERE application_name = ANY(%s) AND pid <> pg_backend_pid()",
        (list(application_names),),
    ).all()
    return [bool(ok) for (ok,) in ended]


def json_int_elements(dialect: Dialect, table: str, column: str, key: str) -> str:
    """`SELECT <each integer of the JSON array under key> FROM table[, ...] ` (a head for
    a WHERE on `table`'s columns): a row per element of every row's array."""
    if dialect == "postgresql":
        return f"SELECT CAST(jsonb_array_elements_text({column}->'{key}') AS BIGINT) FROM {table} "
    return f"SELECT j.value FROM {table}, json_each({table}.{column}, '$.{key}') AS j "


def driver_params(conn: Connection, compiled: SQLCompiler) -> Any:
    """A compiled statement's parameters as the driver takes them: named (psycopg) or
    in order (sqlite3)."""
    if dialect_of_conn(conn) == "postgresql":
        return compiled.params
    return tuple(compiled.params[name] for name in compiled.positiontup or ())


# --- raw SQL text of the set-based paths (store/composed_sms.py) -----------------------------


def text_param(dialect: Dialect) -> str:
    """A bound parameter typed as text (PostgreSQL cannot infer it inside `||`)."""
    return "CAST(%s AS TEXT)" if dialect == "postgresql" else "?"


def json_object(dialect: Dialect, pairs: Sequence[tuple[str, str]]) -> str:
    """SQL: a JSON object of (key, SQL expression) pairs, keys literal."""
    inner = ", ".join(f"'{key}', {value}" for key, value in pairs)
    return f"jsonb_build_object({inner})" if dialect == "postgresql" else f"json_object({inner})"


def json_false(dialect: Dialect) -> str:
    """SQL: JSON's `false`, as a value of `json_object`."""
    return "false" if dialect == "postgresql" else "json('false')"


def json_field_int(dialect: Dialect, column: str, key: str) -> str:
    """SQL: the integer at `key` of a JSON column (NULL when absent)."""
    if dialect == "postgresql":
        return f"({column}->>'{key}')::int"
    return f"json_extract({column}, '$.{key}')"


def json_field_bool(dialect: Dialect, column: str, key: str) -> str:
    """SQL: whether the JSON column is `true` at `key` (false when absent or not true)."""
    if dialect == "postgresql":
        return f"COALESCE(({column}->'{key}') = 'true'::jsonb, false)"
    return f"(json_extract({column}, '$.{key}') IS 1)"


def json_field_text(dialect: Dialect, column: str, *path: str) -> str:
    """SQL: the text at `path` (keys) of a JSON column."""
    if dialect == "postgresql":
        return "->".join([column, *(f"'{k}'" for k in path[:-1])]) + f"->>'{path[-1]}'"
    return f"json_extract({column}, '$.{'.'.join(path)}')"


def json_set_int(dialect: Dialect, column: str, key: str) -> str:
    """SQL: the JSON column with the integer parameter set at `key`."""
    if dialect == "postgresql":
        return f"jsonb_set({column}, '{{{key}}}', to_jsonb(%s::int))"
    return f"json_set({column}, '$.{key}', ?)"


# Printable ASCII without the backtick (not in GSM 03.38) and GSM-7's extension table.
_NOT_PLAIN = "]`^{}~|[\\"  # `]` first: a member, not the end, of the classes below
_GLOB_ASCII = "*[^ -~]*"
_GLOB_WIDE = f"*[{_NOT_PLAIN}]*"
_RE_ASCII = "^[ -~]*$"
_RE_WIDE = "[" + _NOT_PLAIN.replace("\\", "\\\\") + "]"


def gsm7_plain_text(text: str) -> bool:
    """What `gsm7_plain` finds in SQL, for a text at hand (a template's literals)."""
    return all(" " <= char <= "~" and char not in _NOT_PLAIN for char in text)


def gsm7_plain(dialect: Dialect, text: str) -> tuple[str, list[Any]]:
    """SQL: the text expression `text` is printable ASCII of one GSM-7 septet a
    character (no backtick, nothing of the extension table); and its parameters."""
    p = param(dialect)
    if dialect == "postgresql":
        return f"{text} ~ {p} AND {text} !~ {p}", [_RE_ASCII, _RE_WIDE]
    return f"{text} NOT GLOB {p} AND {text} NOT GLOB {p}", [_GLOB_ASCII, _GLOB_WIDE]


# --- what each database kind means for the processes around it (bootstrap, cli) ---------


def embedded(dialect: str) -> bool:
    """SQLite: one process holds the API and the only engine of the file (so ingest may
    skip events no live flow reacts to); on PostgreSQL other processes share the store."""
    return dialect == "sqlite"


# --- JSON and locking in raw SQL text (the outbox's statements: store/outbox.py) ---------


def sql_json_value(dialect: Dialect, column: str, key: str) -> str:
    """A JSON column's member as JSON (an object stays an object)."""
    if dialect == "postgresql":
        return f"{column}->'{key}'"
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


def sql_percent(dialect: Dialect, word: str) -> str:
    """A LIKE pattern literal matching any text that contains `word` (letters only), as
    the driver reads it in a statement with parameters (psycopg doubles its `%`)."""
    assert word.isalpha()
    percent = "%%" if dialect == "postgresql" else "%"
    return f"'{percent}{word}{percent}'"
