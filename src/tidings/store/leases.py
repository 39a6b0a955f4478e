"""Partition leases: which worker processes which people (DESIGN.md, "Per-person order").

People are hashed into P partitions. A `partition_leases` row says who holds a partition
(`owner`), until when (`expires_at`) and in which term (`epoch`, bumped on every change of
owner, so a write checked against an old epoch is refused). Workers heartbeat in
`workers`; each takes its fair share, ceil(P / live workers), of the free or expired
partitions and gives back what it holds above it, so partitions rebalance as workers join
and leave.

Every function takes the connection and the instant (micros); the caller owns the
transaction. On PostgreSQL rows are locked in partition order (so fences and renewals
never deadlock), and acquisition takes candidates with `FOR UPDATE SKIP LOCKED` under a
conditional UPDATE, so concurrent workers neither wait for nor steal from each other.
These tables are the system's, not an account's: they have no `account_id`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from tidings.store.dialect import (
    dialect_of_conn,
    insert_ignore,
    set_local,
    several_engines,
    terminate_sessions,
)
from tidings.store.tables import partition_leases as leases
from tidings.store.tables import workers

log = logging.getLogger("tidings.engine")


@dataclass(frozen=True)
class Lease:
    partition: int
    owner: str | None
    epoch: int
    expires_at: int


def ensure_partitions(conn: Connection, partitions: int) -> None:
    """Make sure lease rows 0..P-1 exist (free, epoch 0); existing rows are kept."""
    have = conn.execute(select(func.count()).select_from(leases)).scalar_one()
    if have >= partitions:
        return
    conn.execute(
        insert_ignore(dialect_of_conn(conn), leases),
        [{"partition": p, "owner": None, "epoch": 0, "expires_at": 0} for p in range(partitions)],
    )


# --- workers ------------------------------------------------------------------------------


def heartbeat(conn: Connection, worker: str, now: int) -> None:
    """Register the worker, or record that it is alive."""
    seen = conn.execute(
        update(workers).where(workers.c.id == worker).values(heartbeat_at=now)
    ).rowcount
    if not seen:
        conn.execute(
            insert_ignore(dialect_of_conn(conn), workers),
            [{"id": worker, "started_at": now, "heartbeat_at": now}],
        )


def remove_dead(conn: Connection, now: int, *, lease: int) -> list[str]:
    """Forget workers without a heartbeat for a lease's length; their leases expire on
    their own and are taken over by `acquire`. Whatever transactions they left open are
    ended first (`end_sessions`): a frozen worker may hold its own row or its lease rows.
    Never waits for a lock: a row still locked is forgotten at a later tick."""
    cutoff = now - lease
    dead = list(
        conn.execute(
            select(workers.c.id).where(workers.c.heartbeat_at < cutoff).order_by(workers.c.id)
        ).scalars()
    )
    if dead:
        end_sessions(conn, dead)
        unlocked = (
            select(workers.c.id)
            .where(workers.c.id.in_(dead), workers.c.heartbeat_at < cutoff)
            .with_for_update(skip_locked=True)
        )
        conn.execute(delete(workers).where(workers.c.id.in_(unlocked.scalar_subquery())))
    return dead


def unregister(conn: Connection, worker: str) -> None:
    conn.execute(delete(workers).where(workers.c.id == worker))


def live_workers(conn: Connection, now: int, *, lease: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(workers).where(workers.c.heartbeat_at >= now - lease)
        ).scalar_one()
    )


def fair_share(partitions: int, live: int) -> int:
    """How many partitions one of `live` workers should hold: ceil(P / live)."""
    return math.ceil(partitions / max(live, 1))


# --- leases -------------------------------------------------------------------------------


def _takeable(owner: str, now: int) -> ColumnElement[bool]:
    return or_(leases.c.owner.is_(None), and_(leases.c.expires_at <= now, leases.c.owner != owner))


def acquire(conn: Connection, owner: str, now: int, *, want: int, lease: int) -> dict[int, int]:
    """Take up to `want` free or expired partitions (another worker's; our own expired
    ones are renewed, not retaken), lowest first; answer {partition: new epoch}."""
    if want <= 0:
        return {}
    takeable = _takeable(owner, now)
    candidates = list(
        conn.execute(
            select(leases.c.partition)
            .where(takeable)
            .order_by(leases.c.partition)
            .limit(want)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not candidates:
        return {}
    taken = conn.execute(
        update(leases)
        .where(leases.c.partition.in_(candidates), takeable)
        .values(owner=owner, epoch=leases.c.epoch + 1, expires_at=now + lease)
        .returning(leases.c.partition, leases.c.epoch)
    ).all()
    return {int(p): int(e) for p, e in taken}


def renew(conn: Connection, owner: str, now: int, *, lease: int) -> dict[int, int]:
    """Extend every lease this owner holds (even one that expired unnoticed: its epoch is
    unchanged, so nobody else wrote there); answer what it holds, {partition: epoch}."""
    held = conn.execute(
        select(leases.c.partition, leases.c.epoch)
        .where(leases.c.owner == owner)
        .order_by(leases.c.partition)
        .with_for_update()
    ).all()
    if held:
        conn.execute(
            update(leases)
            .where(leases.c.partition.in_([p for p, _ in held]), leases.c.owner == owner)
            .values(expires_at=now + lease)
        )
    return {int(p): int(e) for p, e in held}


def release(conn: Connection, owner: str, partitions: Iterable[int] | None = None) -> list[int]:
    """Give partitions back (all of the owner's when None): free at once for others, with
    a new epoch. Answer the partitions released."""
    mine = select(leases.c.partition).where(leases.c.owner == owner)
    if partitions is not None:
        wanted = sorted(set(partitions))
        if not wanted:
            return []
        mine = mine.where(leases.c.partition.in_(wanted))
    locked = list(conn.execute(mine.order_by(leases.c.partition).with_for_update()).scalars())
    if locked:
        conn.execute(
            update(leases)
            .where(leases.c.partition.in_(locked), leases.c.owner == owner)
            .values(owner=None, epoch=leases.c.epoch + 1, expires_at=0)
        )
    return [int(p) for p in locked]


def _session_name(owner: str) -> str:
    return f"tidings:{owner}"[:63]  # PostgreSQL keeps 63 bytes of application_name


def mark_transaction(conn: Connection, owner: str, *, lease: int) -> None:
    """On PostgreSQL, label the session with the owner for the rest of this transaction
    (so `end_sessions` can find it once the owner is presumed dead) and let the server
    end it should it sit idle in the transaction for a lease's length."""
    # lock_timeout: a transaction stuck behind a frozen worker's locks gives up after
    # half a lease, so the next lease tick can find that worker dead and end its
    # sessions (a tick blocked in `renew` would otherwise never tick again).
    set_local(
        conn,
        {
            "application_name": _session_name(owner),
            "idle_in_transaction_session_timeout": str(max(lease // 1000, 1)),
            "lock_timeout": str(max(lease // 2000, 1)),
        },
    )


def end_sessions(conn: Connection, owners: Sequence[str]) -> int:
    """On PostgreSQL, terminate the transactions that dead owners still have open (marked
    by `mark_transaction`). A frozen process (a long pause, a stopped VM) must neither
    keep its lease rows locked, so that nobody could take them (acquisition skips locked
    rows), nor ever commit what it wrote under a lease it lost. Answers how many ended;
    without the right to signal them (another role) it logs and ends none."""
    if not owners or not several_engines(dialect_of_conn(conn)):
        return 0
    try:
        with conn.begin_nested():
            ended = terminate_sessions(conn, [_session_name(o) for o in owners])
    except DBAPIError:
        log.warning("could not end the sessions of dead workers %s", owners, exc_info=True)
        return 0
    return sum(ended)


def check_epochs(conn: Connection, owner: str, held: Mapping[int, int], now: int) -> set[int]:
    """The fence: which of `held` ({partition: epoch}) this owner no longer holds (another
    owner, another epoch, or expired). On PostgreSQL the rows stay share-locked until the
    caller's transaction ends, so no takeover can slip in between this check and the
    commit of the writes it guards."""
    if not held:
        return set()
    rows = conn.execute(
        select(leases.c.partition, leases.c.owner, leases.c.epoch, leases.c.expires_at)
        .where(leases.c.partition.in_(sorted(held)))
        .order_by(leases.c.partition)
        .with_for_update(read=True)
    ).all()
    valid = {
        int(p)
        for p, who, epoch, expires_at in rows
        if who == owner and epoch == held[int(p)] and expires_at > now
    }
    return set(held) - valid


def read_leases(conn: Connection) -> list[Lease]:
    """Every partition's lease, in partition order."""
    rows = conn.execute(
        select(leases.c.partition, leases.c.owner, leases.c.epoch, leases.c.expires_at).order_by(
            leases.c.partition
        )
    ).all()
    return [Lease(int(p), o, int(e), int(x)) for p, o, e, x in rows]
