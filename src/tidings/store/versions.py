"""What the engine compiles: the launched versions of a status, their documents and
the accounts' time zones, and a stamp that moves whenever a flow or a status changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from tidings.store.tables import accounts, flow_versions, flows


def stamp(conn: Connection, statuses: Sequence[str]) -> tuple[object, ...]:
    """Changes when any flow changed (its last change) or a version of `statuses` came
    or went or changed status."""
    changed = conn.execute(select(func.max(flows.c.updated_at))).scalar()
    found = conn.execute(
        select(flow_versions.c.flow_id, flow_versions.c.version, flow_versions.c.status)
        .where(flow_versions.c.status.in_(statuses))
        .order_by(flow_versions.c.flow_id, flow_versions.c.version)
    ).all()
    return (changed, tuple(tuple(r) for r in found))


def versions_of(conn: Connection, statuses: Sequence[str]) -> list[tuple[int, int, int, str, Any]]:
    """(account, flow, version, status, document) of every version of `statuses`."""
    rows = conn.execute(
        select(
            flow_versions.c.account_id,
            flow_versions.c.flow_id,
            flow_versions.c.version,
            flow_versions.c.status,
            flow_versions.c.document,
        ).where(flow_versions.c.status.in_(statuses))
    ).all()
    return [tuple(r) for r in rows]


def time_zones(conn: Connection) -> dict[int, str]:
    """Every account's time zone."""
    return dict(conn.execute(select(accounts.c.id, accounts.c.timezone)).all())
