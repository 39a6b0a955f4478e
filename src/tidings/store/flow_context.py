"""What flow validation needs to know about an account, read in a few queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from tidings.domain.flows import ValidationContext
from tidings.domain.lifecycle import ENDED, RUNNING, Status
from tidings.domain.people import STANDARD_TYPES
from tidings.store.catalogs import catalog_types
from tidings.store.connections import of_account
from tidings.store.definitions import attribute_types, event_types
from tidings.store.sftp import connection_names
from tidings.store.tables import flow_versions, flows, segments, tags


def validation_context(
    conn: Connection, account_id: int, *, flow_id: int | None
) -> ValidationContext:
    flow_states: dict[int, bool] = {}
    for row in conn.execute(
        select(flows.c.id, flows.c.status).where(flows.c.account_id == account_id)
    ):
        flow_states[row.id] = Status(row.status) not in ENDED
    return ValidationContext(
        events={name: props for name, props in event_types(conn, account_id).items()},
        attributes={**STANDARD_TYPES, **attribute_types(conn, account_id)},
        segments={
            row.id: row.name
            for row in conn.execute(
                select(segments.c.id, segments.c.name).where(segments.c.account_id == account_id)
            )
        },
        tags=frozenset(
            conn.execute(select(tags.c.name).where(tags.c.account_id == account_id)).scalars()
        ),
        catalogs=catalog_types(conn, account_id),
        flows=flow_states,
        taken_inbound=frozenset(taken_inbound(conn, account_id, but=flow_id)),
        flow_id=flow_id,
        connections={c.id: frozenset(c.channels) for c in of_account(conn, account_id)},
        sftp_connections=connection_names(conn, account_id),
    )


def taken_inbound(
    conn: Connection, account_id: int, *, but: int | None
) -> set[tuple[str, str, str | None]]:
    """(channel, number, keyword) of inbound entries of other flows' running versions."""
    return {taken for flow_id, taken in inbound_holders(conn, account_id) if flow_id != but}


def inbound_holders(
    conn: Connection, account_id: int
) -> list[tuple[int, tuple[str, str, str | None]]]:
    """(flow id, (channel, number, keyword)) of the inbound entries of running versions
    (scheduled, active, paused, finishing): the numbers and keywords they hold."""
    held: list[tuple[int, tuple[str, str, str | None]]] = []
    rows = conn.execute(
        select(flow_versions.c.flow_id, flow_versions.c.document)
        .where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.status.in_([s.value for s in RUNNING]),
        )
        .order_by(flow_versions.c.flow_id, flow_versions.c.version)
    )
    for row in rows:
        entry: Any = (row.document or {}).get("entry") or {}
        if entry.get("type") == "inbound" and entry.get("number"):
            keyword = entry.get("keyword") or None
            held.append((row.flow_id, (entry.get("channel") or "sms", entry["number"], keyword)))
    return held
