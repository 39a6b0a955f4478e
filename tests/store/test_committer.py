"""Group commit: many callers share a transaction; one caller's failure is only theirs."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select

from tidings.bootstrap import Tidings
from tidings.domain.errors import Conflict
from tidings.store.tables import tags


def test_concurrent_writes_commit_together_and_a_failure_stays_with_its_caller(
    system: Tidings, api: Any
) -> None:
    account = api.account_id
    db = system.db
    commits_before = db.committer.commits
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def add(n: int) -> None:
        def write(conn: Connection) -> None:
            conn.execute(insert(tags).values(account_id=account, name=f"t{n}", created_at=0))
            if n % 5 == 0:
                raise Conflict(f"caller {n} changed their mind")

        barrier.wait()
        try:
            db.write(write)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(errors) == 4
    with db.read() as conn:
        names = conn.execute(select(tags.c.name).where(tags.c.account_id == account)).scalars()
        stored = sorted(names)
    assert stored == sorted(f"t{n}" for n in range(20) if n % 5)
    assert db.committer.commits - commits_before < 20  # callers shared commits


def test_a_lone_failing_write_stores_nothing(system: Tidings, api: Any) -> None:
    def write(conn: Connection) -> None:
        conn.execute(insert(tags).values(account_id=api.account_id, name="lonely", created_at=0))
        raise Conflict("no")

    with pytest.raises(Conflict):
        system.db.write(write)
    with system.db.read() as conn:
        count = conn.execute(
            select(func.count()).select_from(tags).where(tags.c.account_id == api.account_id)
        ).scalar_one()
    assert count == 0


def test_a_webhooks_parse_waits_for_its_writers_turn_with_the_lock_and_no_longer(
    tmp_path: Any,
) -> None:
    """SQLite (writers of several processes take turns by a lock file): while this
    process's writer holds the lock, `wait_while_holding` waits for it to let go, at
    most `most` seconds; with nothing held it returns at once."""
    import asyncio
    import time

    from tidings.store.database import Database

    db = Database(url=f"sqlite:///{tmp_path / 'gate.db'}")
    db.migrate()
    db.start()
    try:
        assert not db.committer.holding
        started = time.perf_counter()
        asyncio.run(db.committer.wait_while_holding(most=1.0))
        assert time.perf_counter() - started < 0.05  # nothing held: at once

        inside, leave = threading.Event(), threading.Event()

        def slow(conn: Connection) -> None:
            inside.set()
            leave.wait(5)

        future = db.submit(slow)
        assert inside.wait(5)
        assert db.committer.holding
        threading.Timer(0.2, leave.set).start()
        started = time.perf_counter()
        asyncio.run(db.committer.wait_while_holding(most=2.0))
        waited = time.perf_counter() - started
        future.result(5)
        assert 0.15 < waited < 1.5  # until the write let go, not the whole 2 s
        assert not db.committer.holding

        leave.clear()
        inside.clear()
        future = db.submit(slow)
        assert inside.wait(5)
        started = time.perf_counter()
        asyncio.run(db.committer.wait_while_holding(most=0.1))  # bounded
        assert time.perf_counter() - started < 1.0
        assert db.committer.holding
        leave.set()
        future.result(5)
    finally:
        db.close()
