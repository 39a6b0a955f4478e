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
