"""LISTEN/NOTIFY on PostgreSQL: adding inbox rows wakes listening engines when the
transaction commits, and never for a transaction that rolled back."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.postgres import create_database
from tidings.store import accounts, changes, events
from tidings.store.database import Database
from tidings.store.wakeups import Listener


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(url=create_database(postgres_url, "wakeups"))
    database.migrate()
    yield database
    database.close()


def test_new_inbox_rows_wake_the_listener_at_commit(db: Database) -> None:
    with db.engine.begin() as conn:
        account = accounts.create_account(conn, name="w", timezone="UTC", now=0).id
    woken = threading.Event()
    listener = Listener(url=db.url, wake=woken.set, poll_seconds=0.05)
    listener.start()
    try:
        assert listener.listening.wait(10)
        assert woken.wait(5)  # the wake after connecting, for anything missed
        woken.clear()

        with db.engine.connect() as conn:
            transaction = conn.begin()
            events.insert_inbox_events(conn, [(account, 7, "Ping", "{}", 0, 0)], partitions=16)
            assert not woken.wait(0.3), "not before the commit"
            transaction.rollback()
        assert not woken.wait(0.3), "a rolled-back insert wakes nobody"

        with db.engine.begin() as conn:
            events.insert_inbox_events(conn, [(account, 7, "Ping", "{}", 0, 0)], partitions=16)
        assert woken.wait(5), "ingest wakes the engines"
        woken.clear()

        item = {"account_id": account, "partition": 1, "person_id": 17, "kind": "enter"}
        with db.engine.begin() as conn:
            changes.enqueue(conn, [{**item, "flow_id": 1, "payload": {}, "due_at": 0}])
        assert woken.wait(5), "API entries wake the engines"
    finally:
        listener.stop()
