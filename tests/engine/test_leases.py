"""`LeaseScope` on PostgreSQL: a worker that lost its lease writes nothing, partitions it
gives back stay fenced until the runner's checkpoint, and the holder of partition 0
leads. Ticks are called by hand with explicit instants (no threads)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Connection, func, insert, select

from tests.support.postgres import create_database
from tidings.clock import VirtualClock
from tidings.engine.leases import LeaseScope
from tidings.engine.scope import LeaseLost
from tidings.store import leases
from tidings.store.database import Database
from tidings.store.tables import workers

P = 8
_names = itertools.count()


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(url=create_database(postgres_url, f"scope{next(_names)}"))
    database.migrate()
    database.start()
    yield database
    database.close()


def scope(db: Database, clock: VirtualClock, name: str) -> LeaseScope:
    return LeaseScope(
        db=db, clock=clock, partitions=P, lease_seconds=2.0, renew_seconds=0.5, name=name
    )


def witnessed_write(db: Database, scope: LeaseScope) -> None:
    """A batch as the engine writes it: the fence, then rows (a witness row here)."""

    def write(conn: Connection) -> None:
        conn.execute(insert(workers).values(id="witness", started_at=0, heartbeat_at=0))
        scope.fence(conn)

    db.write(write)


def witnesses(db: Database) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(workers).where(workers.c.id == "witness")
            ).scalar_one()
        )


def test_a_worker_that_lost_its_lease_writes_nothing(db: Database) -> None:
    clock = VirtualClock()
    a = scope(db, clock, "a")
    a.tick(clock.now())
    assert a.owned() == frozenset(range(P))
    assert a.leads()

    clock.advance_to(clock.now() + timedelta(seconds=3))  # a missed its renewals
    b = scope(db, clock, "b")
    b.tick(clock.now())
    assert b.owned() == frozenset(range(P))
    assert b.leads()

    with pytest.raises(LeaseLost):
        witnessed_write(db, a)
    assert witnesses(db) == 0, "the fenced batch rolled back whole"
    assert a.owned() == frozenset()
    assert not a.leads()
    a.checkpoint()
    witnessed_write(db, b)
    assert witnesses(db) == 1


def test_given_back_partitions_stay_fenced_until_the_checkpoint(db: Database) -> None:
    clock = VirtualClock()
    a, b = scope(db, clock, "a"), scope(db, clock, "b")
    a.tick(clock.now())
    b.tick(clock.now())
    assert b.owned() == frozenset()
    a.tick(clock.now())  # a sees b: half of its partitions are to go
    assert a.owned() == frozenset(range(P // 2))
    b.tick(clock.now())
    assert b.owned() == frozenset(), "not released while a batch of a may still hold them"
    witnessed_write(db, a)  # a batch read before the change still passes the fence

    a.checkpoint()  # the runner is between batches: nothing of a's is in flight
    a.tick(clock.now())
    b.tick(clock.now())
    assert b.owned() == frozenset(range(P // 2, P))
    with db.read() as conn:
        rows = {lease.partition: lease for lease in leases.read_leases(conn)}
    assert all(rows[p].owner == "b" and rows[p].epoch >= 3 for p in b.owned() or ())
    assert a.leads()
    assert not b.leads()


def test_an_expired_lease_nobody_took_is_kept(db: Database) -> None:
    clock = VirtualClock()
    a = scope(db, clock, "a")
    a.tick(clock.now())
    held = a.held()
    clock.advance_to(clock.now() + timedelta(seconds=3))
    with pytest.raises(LeaseLost):  # expired: no writes until renewed
        witnessed_write(db, a)
    a.checkpoint()
    a.tick(clock.now())
    assert a.held() == held, "renewed with the same epochs"
    witnessed_write(db, a)
    assert witnesses(db) == 1


def test_stop_gives_every_partition_back(db: Database) -> None:
    clock = VirtualClock()
    a, b = scope(db, clock, "a"), scope(db, clock, "b")
    a.tick(clock.now())
    a.stop()
    b.tick(clock.now())
    assert b.owned() == frozenset(range(P))
