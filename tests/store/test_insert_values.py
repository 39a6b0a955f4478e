"""`insert_values` writes every row it is given, as statements of many rows, on both
databases: in order, past the rows and parameters one statement takes, with what follows
the values (`ON CONFLICT ...`) applied to each statement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import BACKENDS
from tests.support.stores import fresh_url
from tidings.store import dialect
from tidings.store.dialect import VALUES_ROWS, dialect_of, insert_values, param


@pytest.fixture(params=BACKENDS)
def conn(request: pytest.FixtureRequest) -> Iterator[Connection]:
    url = fresh_url(request.param, request, "values")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"))
        yield conn
    engine.dispose()


def _statements(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run: SQLAlchemy's, and on PostgreSQL those run by psycopg's raw
    cursor (numbered placeholders, past SQLAlchemy's events)."""
    seen: list[str] = []
    event.listen(conn, "before_cursor_execute", lambda *a: seen.append(a[2]))
    numbered = dialect._execute_numbered

    def spy(c: Connection, statement: str, params: tuple[Any, ...]) -> None:
        seen.append(statement)
        numbered(c, statement, params)

    monkeypatch.setattr(dialect, "_execute_numbered", spy)
    return seen


def test_every_row_is_written_in_statements_of_many_rows(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = param(dialect_of(conn.engine.url.drivername))
    rows = [(i, f"name {i}", i * 3) for i in range(1, VALUES_ROWS * 2 + 8)]
    seen = _statements(conn, monkeypatch)
    insert_values(conn, "INSERT INTO t (id, name, n)", f"{p}, {p}, {p}", rows)
    assert len(seen) == 3  # two full statements and the rest
    assert conn.execute(text("SELECT id, name, n FROM t ORDER BY id")).all() == rows


def test_a_statement_takes_no_more_parameters_than_the_limit(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialect, "VALUES_PARAMS", 20)  # rows of 3: six a statement
    p = param(dialect_of(conn.engine.url.drivername))
    rows = [(i, f"n{i}", i) for i in range(1, 14)]
    seen = _statements(conn, monkeypatch)
    insert_values(conn, "INSERT INTO t (id, name, n)", f"{p}, {p}, {p}", rows)
    assert len(seen) == 3  # 6 + 6 + 1
    assert conn.execute(text("SELECT id, name, n FROM t ORDER BY id")).all() == rows


def test_what_follows_the_values_applies_to_each_statement(conn: Connection) -> None:
    p = param(dialect_of(conn.engine.url.drivername))
    insert_values(conn, "INSERT INTO t (id, name, n)", f"{p}, {p}, {p}", [(1, "a", 1), (2, "b", 2)])
    again = [(i, "new", 10) for i in range(1, VALUES_ROWS + 3)]
    insert_values(
        conn,
        "INSERT INTO t (id, name, n)",
        f"{p}, {p}, {p}",
        again,
        "ON CONFLICT (id) DO UPDATE SET n = t.n + excluded.n",
    )
    found = dict(conn.execute(text("SELECT id, n FROM t")).all())
    assert (found[1], found[2]) == (11, 12)  # added to the rows that were there
    assert found[VALUES_ROWS + 2] == 10
    assert len(found) == VALUES_ROWS + 2


def test_no_rows_run_no_statement(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _statements(conn, monkeypatch)
    insert_values(conn, "INSERT INTO t (id, name, n)", "?, ?, ?", [])
    assert seen == []


def test_literals_casts_and_a_doubled_percent_keep_their_meaning(conn: Connection) -> None:
    """Marks with a literal, a cast and a `LIKE` pattern (psycopg's `%%`) write what
    they say on both databases, for one row and for a statement's worth."""
    postgres = dialect_of(conn.engine.url.drivername) == "postgresql"
    p = param("postgresql" if postgres else "sqlite")
    percent = "%%" if postgres else "%"
    rows = [(i, f"x{i}") for i in range(1, VALUES_ROWS + 2)]
    insert_values(
        conn,
        "INSERT INTO t (id, name, n)",
        f"{p}, {p} || CASE WHEN 'a{percent}' LIKE 'a{percent}' THEN '!' ELSE '' END, 7",
        rows,
    )
    found = conn.execute(text("SELECT id, name, n FROM t ORDER BY id")).all()
    assert found == [(i, f"{name}!", 7) for i, name in rows]


def test_a_conflict_is_raised_as_sqlalchemy_raises_it(conn: Connection) -> None:
    """A duplicate key fails the statement with SQLAlchemy's IntegrityError (callers and
    the committer's savepoints tell failures apart by it), naming the statement."""
    p = param(dialect_of(conn.engine.url.drivername))
    insert_values(conn, "INSERT INTO t (id, name, n)", f"{p}, {p}, {p}", [(1, "a", 1)])
    with pytest.raises(IntegrityError) as raised, conn.begin_nested():
        insert_values(
            conn, "INSERT INTO t (id, name, n)", f"{p}, {p}, {p}", [(2, "b", 2), (1, "c", 3)]
        )
    assert "INSERT INTO t" in str(raised.value)
    assert conn.execute(text("SELECT id, name FROM t ORDER BY id")).all() == [(1, "a")]
