"""Time-driven lifecycle moves: scheduled flows start, ended schedules stop new entries,
and a flow without an end stops by itself after a year in which nothing happened.

Runs in the writer like every write, from the engine's clock loop (real clock) and from
`POST /clock/advance` (virtual clock), with the instant passed in.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, select

from tidings.domain.lifecycle import Status
from tidings.store import flows as store
from tidings.store.tables import flow_versions, flows

YEAR_MICROS = int(timedelta(days=365).total_seconds() * 1_000_000)


def housekeep(conn: Connection, now: int) -> int:
    """Apply every move due at `now`; return how many versions moved."""
    moved = 0
    rows = conn.execute(
        select(
            flow_versions.c.account_id,
            flow_versions.c.flow_id,
            flow_versions.c.version,
            flow_versions.c.status,
            flow_versions.c.launched_at,
            flows.c.starts_at,
            flows.c.ends_at,
            flows.c.last_activity_at,
        )
        .join(flows, flows.c.id == flow_versions.c.flow_id)
        .where(
            flow_versions.c.status.in_(
                [Status.scheduled.value, Status.active.value, Status.paused.value]
            )
        )
    ).all()
    for row in rows:
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
            store.set_version_status(
                conn, row.account_id, row.flow_id, row.version, target, now=now
            )
            moved += 1
    return moved
