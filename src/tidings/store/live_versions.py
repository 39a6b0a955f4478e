"""Reads of the versions the engine's housekeeping moves and watches: scheduled, active and
paused ones with their flow's schedule, finishing ones nobody is inside any more, the
documents of the live ones (engine/housekeeping.py, engine/interest.py decide what to do)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, exists, select

from tidings.domain.lifecycle import Status
from tidings.store.tables import flow_versions, flows, participations

SCHEDULED = (Status.scheduled.value, Status.active.value, Status.paused.value)
# Rows by their columns' count (each function names its columns)
Row2 = Row[Any, Any]
Row3 = Row[Any, Any, Any]
Row4 = Row[Any, Any, Any, Any]
Row5 = Row[Any, Any, Any, Any, Any]
Row9 = Row[Any, Any, Any, Any, Any, Any, Any, Any, Any]


def _scheduled(*columns: Any) -> Any:
    """`columns` of every scheduled, active or paused version joined with its flow."""
    return (
        select(*columns)
        .join(flows, flows.c.id == flow_versions.c.flow_id)
        .where(flow_versions.c.status.in_(SCHEDULED))
    )


_SCHEDULE = (
    flow_versions.c.status,
    flow_versions.c.launched_at,
    flows.c.starts_at,
    flows.c.ends_at,
    flows.c.last_activity_at,
)


def scheduled_versions(conn: Connection) -> Sequence[Row9]:
    """Every scheduled, active or paused version with its flow's schedule: `account_id`,
    `flow_id`, `version`, `document`, `status`, `launched_at`, `starts_at`, `ends_at`,
    `last_activity_at`."""
    return conn.execute(
        _scheduled(
            flow_versions.c.account_id,
            flow_versions.c.flow_id,
            flow_versions.c.version,
            flow_versions.c.document,
            *_SCHEDULE,
        )
    ).all()


def schedules(conn: Connection) -> Sequence[Row5]:
    """`scheduled_versions` without the documents: `status`, `launched_at`, `starts_at`,
    `ends_at`, `last_activity_at` (when the next schedule moves something)."""
    return conn.execute(_scheduled(*_SCHEDULE)).all()


def emptied_finishing(conn: Connection) -> Sequence[Row3]:
    """(account_id, flow_id, version) of the finishing versions nobody is inside any more."""
    return conn.execute(
        select(flow_versions.c.account_id, flow_versions.c.flow_id, flow_versions.c.version).where(
            flow_versions.c.status == Status.finishing.value,
            ~exists().where(
                participations.c.flow_id == flow_versions.c.flow_id,
                participations.c.version == flow_versions.c.version,
                participations.c.phase != "exited",
            ),
        )
    ).all()


def any_finishing(conn: Connection) -> bool:
    """Whether some version is finishing."""
    return (
        conn.execute(
            select(flow_versions.c.id)
            .where(flow_versions.c.status == Status.finishing.value)
            .limit(1)
        ).first()
        is not None
    )


def active_documents(conn: Connection) -> Sequence[Row4]:
    """(account_id, flow_id, version, document) of every active version."""
    return conn.execute(
        select(
            flow_versions.c.account_id,
            flow_versions.c.flow_id,
            flow_versions.c.version,
            flow_versions.c.document,
        ).where(flow_versions.c.status == Status.active.value)
    ).all()


def documents_of(conn: Connection, statuses: Iterable[str]) -> Iterable[Row2]:
    """(account_id, document) of every version in one of `statuses`."""
    return conn.execute(
        select(flow_versions.c.account_id, flow_versions.c.document).where(
            flow_versions.c.status.in_(list(statuses))
        )
    )
