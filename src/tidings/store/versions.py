"""What the engine compiles: the launched versions of a status, their documents and
the accounts' time zones, and a stamp that moves whenever a flow or a status changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from tidings.store.raw import fetch
from tidings.store.tables import accounts, flow_versions


def stamp(conn: Connection, statuses: Sequence[str]) -> tuple[object, ...]:
    """Changes when any flow changed (its last change) or a version of `statuses` came
    or went or changed status."""
    # raw SQL: asked once a callback or a round, SQLAlchemy's statement handling cost
    # more than the two reads (0.5 ms a call in a delivery callback's write)
    listed = ", ".join(f"'{s}'" for s in map(str, statuses) if s.isalpha())  # names only
    changed = fetch(conn, "SELECT max(updated_at) FROM flows")[0][0]
    found = (
        fetch(
            conn,
            f"SELECT flow_id, version, status FROM flow_versions WHERE status IN ({listed}) "
            "ORDER BY flow_id, version",
        )
        if listed
        else []
    )
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
