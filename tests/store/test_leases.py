"""Partition leases in the store: fair shares, rebalancing as workers join and leave,
takeover of expired leases with a new epoch, and the epoch check the fence relies on.
On both databases; the concurrency test needs PostgreSQL's row locks."""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.postgres import create_database
from tidings.store import leases
from tidings.store.database import Database

P = 16
LEASE = 2_000_000  # 2 s in micros
T0 = 1_800_000_000_000_000
_names = itertools.count()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='tidings-leases-')) / 'l.db'}"
    else:
        url = create_database(request.getfixturevalue("postgres_url"), f"leases{next(_names)}")
    database = Database(url=url)
    database.migrate()
    with database.engine.begin() as conn:
        leases.ensure_partitions(conn, P)
    yield database
    database.close()


def tick(db: Database, owner: str, now: int) -> dict[int, int]:
    """What a worker does every few seconds (without the engine's checkpoint): heartbeat,
    forget the dead, renew, give back above the fair share, take up to it."""
    with db.engine.begin() as conn:
        leases.heartbeat(conn, owner, now)
        leases.remove_dead(conn, now, lease=LEASE)
        share = leases.fair_share(P, leases.live_workers(conn, now, lease=LEASE))
        mine = leases.renew(conn, owner, now, lease=LEASE)
        surplus = sorted(mine, reverse=True)[: max(len(mine) - share, 0)]
        for p in leases.release(conn, owner, surplus):
            del mine[p]
        mine |= leases.acquire(conn, owner, now, want=share - len(mine), lease=LEASE)
        return mine


def owners(db: Database) -> dict[str | None, set[int]]:
    with db.read() as conn:
        found: dict[str | None, set[int]] = {}
        for lease in leases.read_leases(conn):
            found.setdefault(lease.owner, set()).add(lease.partition)
        return found


def test_rows_exist_for_every_partition_once(db: Database) -> None:
    with db.engine.begin() as conn:
        leases.ensure_partitions(conn, P)  # again: nothing changes
        rows = leases.read_leases(conn)
    assert [r.partition for r in rows] == list(range(P))
    assert all(r.owner is None and r.epoch == 0 for r in rows)


def test_two_workers_split_the_partitions_fairly(db: Database) -> None:
    assert len(tick(db, "a", T0)) == P  # alone, a takes everything
    assert tick(db, "b", T0 + 1) == {}  # nothing is free yet
    a = tick(db, "a", T0 + 2)  # a sees b and gives back half
    b = tick(db, "b", T0 + 3)
    assert len(a) == len(b) == P // 2
    assert owners(db) == {"a": set(a), "b": set(b)}


def test_a_third_worker_joining_gets_a_fair_share(db: Database) -> None:
    tick(db, "a", T0)
    tick(db, "b", T0 + 1)
    tick(db, "a", T0 + 2)
    tick(db, "b", T0 + 3)
    tick(db, "c", T0 + 4)  # joins: everything is held
    tick(db, "a", T0 + 5)
    tick(db, "b", T0 + 6)
    c = tick(db, "c", T0 + 7)
    held = owners(db)
    assert None not in held, "every partition has an owner"
    sizes = sorted(len(held[w]) for w in "abc")
    assert sizes == [4, 6, 6]  # ceil(16 / 3) = 6 each at most
    assert set(c) == held["c"]


def test_a_silent_worker_is_taken_over_after_expiry_with_a_new_epoch(db: Database) -> None:
    tick(db, "a", T0)
    tick(db, "b", T0 + 1)
    tick(db, "a", T0 + 2)
    b = tick(db, "b", T0 + 3)
    # b stops heartbeating. Before its leases expire, a cannot take them.
    assert set(tick(db, "a", T0 + LEASE // 2)) == set(range(P)) - set(b)
    later = T0 + 3 + LEASE + 1
    a = tick(db, "a", later)
    assert set(a) == set(range(P)), "b's partitions went to the only live worker"
    for p, epoch in b.items():
        assert a[p] > epoch
    with db.read() as conn:
        assert leases.check_epochs(conn, "b", b, later) == set(b)
        assert leases.check_epochs(conn, "a", a, later) == set()


def test_the_epoch_check_refuses_another_epoch_and_expiry(db: Database) -> None:
    a = tick(db, "a", T0)
    with db.read() as conn:
        assert leases.check_epochs(conn, "a", a, T0 + 1) == set()
        stale = {0: a[0] - 1, 1: a[1]}
        assert leases.check_epochs(conn, "a", stale, T0 + 1) == {0}
        assert leases.check_epochs(conn, "a", a, T0 + LEASE) == set(a)  # expired
    # An expired lease nobody took is renewed with its epoch: nothing else wrote there.
    assert tick(db, "a", T0 + LEASE + 5) == a


def test_a_stopped_worker_releases_at_once(db: Database) -> None:
    tick(db, "a", T0)
    tick(db, "b", T0 + 1)
    with db.engine.begin() as conn:
        released = leases.release(conn, "a")
        leases.unregister(conn, "a")
    assert sorted(released) == list(range(P))
    assert set(tick(db, "b", T0 + 2)) == set(range(P))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # concurrent writers
def test_concurrent_acquisition_never_gives_one_partition_to_two(db: Database) -> None:
    workers = [f"w{i}" for i in range(4)]
    barrier = threading.Barrier(len(workers))
    taken: dict[str, dict[int, int]] = {}

    def grab(owner: str) -> None:
        with db.engine.begin() as conn:
            barrier.wait()
            taken[owner] = leases.acquire(conn, owner, T0, want=6, lease=LEASE)

    threads = [threading.Thread(target=grab, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [p for got in taken.values() for p in got]
    assert sorted(claimed) == list(range(P)), "each partition exactly once"
    assert owners(db) == {w: set(taken[w]) for w in workers if taken[w]}
