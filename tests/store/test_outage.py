"""`store/outage.py`: which database errors mean "the database is away" (a 503, a quiet
retry) and which are bugs (a 500, a traceback), with the real drivers."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.postgres import create_database, free_port
from tidings.store.outage import Outage, unavailable


def raised(url: str, sql: str | None = None) -> DBAPIError:
    """The error of connecting to `url`, or of running `sql` there."""
    engine = create_engine(url)

    def attempt() -> None:
        with engine.connect() as conn:
            if sql is not None:
                conn.execute(text(sql))

    try:
        with pytest.raises(DBAPIError) as caught:
            attempt()
        return caught.value
    finally:
        engine.dispose()


def test_sqlite_a_file_that_cannot_be_opened_is_away_a_wrong_statement_is_a_bug(
    tmp_path: Path,
) -> None:
    assert unavailable(raised(f"sqlite:///{tmp_path / 'missing' / 't.db'}"))
    assert not unavailable(raised(f"sqlite:///{tmp_path / 't.db'}", "SELECT nope FROM nothing"))


def test_postgresql_refused_and_terminated_are_away_a_wrong_statement_is_a_bug(
    postgres_url: str,
) -> None:
    closed = free_port()
    assert unavailable(raised(f"postgresql+psycopg://u:p@127.0.0.1:{closed}/x"))
    url = create_database(postgres_url, "outage_kinds")
    assert not unavailable(raised(url, "SELECT nope FROM nothing"))

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(DBAPIError) as caught:
                conn.execute(text("SELECT 1"))
        assert unavailable(caught.value)
    finally:
        engine.dispose()


def test_an_outage_is_said_once_when_it_goes_and_once_when_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    away = raised(f"sqlite:///{tmp_path / 'missing' / 't.db'}")
    bug = raised(f"sqlite:///{tmp_path / 't.db'}", "SELECT nope FROM nothing")
    outage = Outage(logging.getLogger("tidings.test"), "the loop")
    with caplog.at_level(logging.WARNING, logger="tidings.test"):
        waits = [outage.failed(away) for _ in range(8)]
        assert outage.failed(bug) is None, "a bug is the caller's to log"
        outage.passed()
        outage.passed()
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("the loop: the database is unavailable (unable to open")
    assert lines[1] == "the loop: the database is back (after 8 failed tries)"
