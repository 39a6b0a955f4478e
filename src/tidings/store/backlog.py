"""Due work as an operator sees it: for `/metrics` (read at every scrape) and
`GET /api/v1/cluster` (the engines alive and the oldest due work per partition).

Every read here walks an index on the due instant (`ix_inbox_due`,
`ix_participations_due`, `ix_outbox_pending`) from its start up to now, and never more
than `cap` rows, so a scrape costs the same whether a million people are parked in waits
or none are (a parked person is not in the range: their timer is later, or they wait for
an event and have none). They are reads: they never take the writer's lock.

Like the lease tables, these figures are the system's, not an account's: the reads span
every account on purpose and answer no account's data (counts, instants, partitions).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection

from tidings.store.dialect import dialect_of_conn, param
from tidings.store.tables import WAITING

CAP = 100_000  # rows a backlog count reads at most; a larger backlog reads as CAP
# The outbox count reads each row's channel from the table, not only the index: 100,000
# rows took 80 ms of a scrape (inbox and timers 12-17 ms), so it stops sooner.
OUTBOX_CAP = 10_000


@dataclass(frozen=True)
class Backlog:
    inbox: int  # inbox rows due now (an audience bundle of up to 2,000 people is one)
    timers: int  # participations whose timer is due now
    outbox: dict[str, int]  # pending sends and API calls due now, by channel (or kind)
    oldest: int | None  # the due instant of the oldest of them; None: nothing is due


def _timers_due(p: str) -> str:
    return f"phase = {WAITING} AND wake_at IS NOT NULL AND wake_at <= {p}"


# Outbox rows due, as the two partial indexes hold them: the sandbox's sends and the API
# calls (ix_outbox_pending), and the messages waiting for a provider (ix_outbox_due_provider).
_OUTBOX_DUE = (
    "status = 'pending' AND connection_id IS NULL",
    "connection_id IS NOT NULL AND status IN ('pending', 'sending')",
)


def read_backlog(
    conn: Connection, now: int, *, cap: int = CAP, outbox_cap: int = OUTBOX_CAP
) -> Backlog:
    """What is due at `now` and not done yet, counted up to `cap` rows a kind (the
    outbox up to `outbox_cap` rows in all)."""
    p = param(dialect_of_conn(conn))
    cap, outbox_cap = int(cap), int(outbox_cap)
    inbox = conn.exec_driver_sql(
        f"SELECT count(*) FROM (SELECT 1 FROM inbox WHERE due_at <= {p} LIMIT {cap}) t", (now,)
    ).scalar_one()
    timers = conn.exec_driver_sql(
        f"SELECT count(*) FROM (SELECT 1 FROM participations WHERE {_timers_due(p)} LIMIT {cap}) t",
        (now,),
    ).scalar_one()
    outbox: dict[str, int] = {}
    for rows in _OUTBOX_DUE:  # each read by its own partial index
        for channel, n in conn.exec_driver_sql(
            "SELECT c, count(*) FROM (SELECT COALESCE(channel, kind) AS c FROM outbox "
            f"WHERE {rows} AND next_attempt_at <= {p} LIMIT {outbox_cap}) t GROUP BY c",
            (now,),
        ).all():
            outbox[str(channel)] = outbox.get(str(channel), 0) + int(n)
    # The earliest of each: the first entry of each index (the minimum, not a scan).
    firsts = conn.exec_driver_sql(
        "SELECT (SELECT min(due_at) FROM inbox), "
        f"(SELECT min(wake_at) FROM participations WHERE phase = {WAITING} "
        "AND wake_at IS NOT NULL), "
        f"(SELECT min(next_attempt_at) FROM outbox WHERE {_OUTBOX_DUE[0]}), "
        f"(SELECT min(next_attempt_at) FROM outbox WHERE {_OUTBOX_DUE[1]})"
    ).one()
    due = [int(f) for f in firsts if f is not None and int(f) <= now]
    return Backlog(int(inbox), int(timers), outbox, min(due) if due else None)


@dataclass(frozen=True)
class OldestDue:
    by_partition: dict[int, int]  # partition -> the due instant of its oldest due work
    complete: bool  # False: more than `cap` rows of a kind were due; later ones unread


def oldest_due_by_partition(
    conn: Connection, now: int, *, partitions: int, cap: int = CAP
) -> OldestDue:
    """Per partition with work due at `now`, when its oldest due work came due. Reads the
    oldest `cap` due rows of each kind (inbox, timers, pending outbox rows)."""
    p = param(dialect_of_conn(conn))
    n, cap = int(partitions), int(cap)
    # A participation's or outbox row's partition is person_id % P (psycopg would read a
    # `%` as a placeholder: spelled as in journeys.person_partition_sql).
    of_person = f"(person_id - person_id / {n} * {n})"
    queries = [
        f"SELECT partition AS part, due_at AS due FROM inbox WHERE due_at <= {p} "
        f"ORDER BY due_at LIMIT {cap}",
        f"SELECT {of_person} AS part, wake_at AS due FROM participations "
        f"WHERE {_timers_due(p)} ORDER BY wake_at LIMIT {cap}",
        *(
            f"SELECT {of_person} AS part, next_attempt_at AS due FROM outbox "
            f"WHERE {due} AND next_attempt_at <= {p} AND person_id IS NOT NULL "
            f"ORDER BY next_attempt_at LIMIT {cap}"
            for due in _OUTBOX_DUE
        ),
    ]
    oldest: dict[int, int] = {}
    complete = True
    for query in queries:
        rows = conn.exec_driver_sql(
            f"SELECT part, min(due), count(*) FROM ({query}) t GROUP BY part", (now,)
        ).all()
        if sum(int(r[2]) for r in rows) >= cap:
            complete = False
        for part, due, _count in rows:
            key = int(part)
            oldest[key] = min(int(due), oldest.get(key, int(due)))
    return OldestDue(dict(sorted(oldest.items())), complete)


@dataclass(frozen=True)
class LeasingEngine:
    owner: str
    started_at: int | None  # None: it holds leases but has no heartbeat row
    heartbeat_at: int | None
    partitions: list[int]  # held now, by an unexpired lease
    lease_expires_at: int | None  # the earliest expiry among them


def leasing_engines(conn: Connection, now: int, *, lease: int) -> list[LeasingEngine]:
    """The engines alive on PostgreSQL: a heartbeat within a lease's length, or an
    unexpired lease (the system's tables `workers` and `partition_leases`)."""
    p = param(dialect_of_conn(conn))
    beats = {
        str(owner): (int(started), int(beat))
        for owner, started, beat in conn.exec_driver_sql(
            f"SELECT id, started_at, heartbeat_at FROM workers WHERE heartbeat_at >= {p}",
            (now - lease,),
        ).all()
    }
    held: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for partition, owner, expires_at in conn.exec_driver_sql(
        "SELECT partition, owner, expires_at FROM partition_leases "
        f"WHERE owner IS NOT NULL AND expires_at > {p} ORDER BY partition",
        (now,),
    ).all():
        held[str(owner)].append((int(partition), int(expires_at)))
    engines = []
    for owner in sorted(set(beats) | set(held)):
        started, beat = beats.get(owner, (None, None))
        leases = held.get(owner, [])
        engines.append(
            LeasingEngine(
                owner=owner,
                started_at=started,
                heartbeat_at=beat,
                partitions=[part for part, _ in leases],
                lease_expires_at=min((x for _, x in leases), default=None),
            )
        )
    return engines
