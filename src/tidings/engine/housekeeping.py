"""Time-driven lifecycle moves: scheduled flows start, ended schedules stop new entries,
and a flow without an end stops by itself after a year in which nothing happened.

Runs in the writer like every write, from the engine's clock loop (real clock) and from
`POST /clock/advance` (virtual clock), with the instant passed in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from tidings.domain.flows import parse_document
from tidings.domain.flows.entry import AudienceEntry
from tidings.domain.lifecycle import Status
from tidings.engine.failures import blame
from tidings.store import flows as store
from tidings.store import live_versions as live
from tidings.store.audience import Sources, enqueue_audience, refresh_members, seed_members

YEAR_MICROS = int(timedelta(days=365).total_seconds() * 1_000_000)


def housekeep(conn: Connection, now: int, *, partitions: int = 256) -> int:
    """Apply every move due at `now`; return how many versions moved."""
    moved = settle_finishing(conn, now)
    for row in live.scheduled_versions(conn):
        status = Status(row.status)
        target: Status | None = None
        if row.ends_at is not None and row.ends_at <= now:
            target = Status.finishing if status is not Status.scheduled else Status.finished
        elif status is Status.scheduled and (row.starts_at is None or row.starts_at <= now):
            target = Status.active
        elif status is Status.active and row.ends_at is None:
            quiet_since = max(row.last_activity_at or 0, row.launched_at or 0)
            if quiet_since + YEAR_MICROS <= now:
                target = Status.finishing
        if target is not None:
            with blame(row.flow_id, row.version):  # its audience, say, fails it alone
                store.set_version_status(
                    conn, row.account_id, row.flow_id, row.version, target, now=now
                )
                if target is Status.active:
                    start_audience(
                        conn, row.account_id, row.flow_id, row.document, now, partitions=partitions
                    )
            moved += 1
    return moved


def settle_finishing(conn: Connection, now: int) -> int:
    """A finishing version becomes finished once nobody is inside it any more."""
    rows = live.emptied_finishing(conn)
    for account_id, flow_id, version in rows:
        store.set_version_status(conn, account_id, flow_id, version, Status.finished, now=now)
    return len(rows)


def next_due(conn: Connection) -> int | None:
    """The next instant at which a schedule starts or ends a version (or a quiet year ends)."""
    due: list[int] = []
    for status, launched_at, starts_at, ends_at, last_activity in live.schedules(conn):
        if ends_at is not None:
            due.append(ends_at)
        if status == Status.scheduled.value and starts_at is not None:
            due.append(starts_at)
        if status == Status.active.value and ends_at is None:
            due.append(max(last_activity or 0, launched_at or 0) + YEAR_MICROS)
    return min(due) if due else None


def refresh_realtime(conn: Connection, now: int, *, partitions: int) -> int:
    """Real-time audiences: people who joined one of their sources since enter now, as
    their re-entry settings allow (store/audience.refresh_members)."""
    queued = 0
    for account_id, flow_id, version, document in live.active_documents(conn):
        entry = (document or {}).get("entry") or {}
        if entry.get("type") != "audience" or entry.get("update") != "realtime":
            continue
        with blame(flow_id, version):  # an audience that cannot be read fails its flow alone
            queued += refresh_members(
                conn,
                account_id,
                flow_id,
                Sources.of(parse_document(document).entry),
                now=now,
                partitions=partitions,
            )
    return queued


def start_audience(
    conn: Connection,
    account_id: int,
    flow_id: int,
    document: dict[str, Any],
    now: int,
    *,
    partitions: int,
) -> int:
    """A predefined audience enters when its version becomes active."""
    doc = parse_document(document)
    if not isinstance(doc.entry, AudienceEntry):
        return 0
    sources = Sources.of(doc.entry)
    if doc.entry.update == "realtime":  # who is a member now: later joiners enter
        seed_members(conn, account_id, flow_id, sources, now=now)
    return enqueue_audience(conn, account_id, flow_id, sources, now=now, partitions=partitions)


def has_work(conn: Connection, now: int) -> bool:
    """Whether `housekeep` would change anything at `now` (a read, no lock)."""
    due = next_due(conn)
    if due is not None and due <= now:
        return True
    return live.any_finishing(conn)
