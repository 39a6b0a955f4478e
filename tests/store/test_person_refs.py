"""People looked up by externalId on PostgreSQL cost a probe of the unique index each,
also before the table's first ANALYZE: a new install's first minute under load, when the
planner took "the account's people" for one row and read all of them for every request
(the decay of docs/decisions/2026-12-04-postgresql-sustained-load.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection

from tests.support.postgres import create_database
from tidings.store import accounts
from tidings.store.database import Database
from tidings.store.person_refs import ensure_people, find_people

PEOPLE = 5000


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(url=create_database(postgres_url, "person_refs"))
    database.migrate()
    yield database
    database.close()


def _people_rows_read(conn: Connection) -> int:
    """Rows of `people` this transaction has read so far, by any scan."""
    seq, fetched = conn.exec_driver_sql(
        "SELECT coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0) "
        "FROM pg_stat_xact_user_tables WHERE relname = 'people'"
    ).one()
    return int(seq) + int(fetched)


def test_a_look_up_reads_the_people_it_names_not_the_account(db: Database) -> None:
    with db.engine.begin() as conn:
        account = accounts.create_account(conn, name="refs", timezone="UTC", now=0).id
        created, new = ensure_people(conn, account, [f"p{i}" for i in range(PEOPLE)], now=1)
        assert len(created) == len(new) == PEOPLE
    analyzed = "SELECT reltuples FROM pg_class WHERE relname = 'people'"
    with db.engine.begin() as conn:
        assert conn.exec_driver_sql(analyzed).scalar() == -1, "never analyzed"
        before = _people_rows_read(conn)
        wanted = [f"p{i}" for i in range(100, 125)] + ["nobody"]
        found = find_people(conn, account, wanted)
        assert found == {f"p{i}": created[f"p{i}"] for i in range(100, 125)}
        assert _people_rows_read(conn) - before <= 25

        before = _people_rows_read(conn)
        again, new = ensure_people(conn, account, ["p7", "p8", "q1", "q2"], now=2)
        assert new == {"q1", "q2"}
        assert again["p7"] == created["p7"]
        assert len(set(again.values())) == 4
        assert _people_rows_read(conn) - before <= 4
