"""What the sandbox provider "sent", and each account's sandbox settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from tidings.domain.durations import format_micros
from tidings.domain.sandbox import SandboxSettings
from tidings.store.element_names import ElementNames
from tidings.store.tables import sandbox_messages, sandbox_settings


def read_settings(conn: Connection, account_id: int) -> SandboxSettings:
    row = conn.execute(
        select(sandbox_settings).where(sandbox_settings.c.account_id == account_id)
    ).one_or_none()
    if row is None:
        return SandboxSettings()
    return SandboxSettings(row.delivered, row.seen, row.clicked, row.delay)


def write_settings(conn: Connection, account_id: int, settings: SandboxSettings) -> None:
    conn.execute(delete(sandbox_settings).where(sandbox_settings.c.account_id == account_id))
    conn.execute(insert(sandbox_settings).values(account_id=account_id, **settings.as_dict()))


COLUMNS = (
    "id",
    "account_id",
    "channel",
    "to",
    "sender",
    "content",
    "parts",
    "status",
    "sent_at",
    "flow_id",
    "version",
    "element",
    "person_id",
)


def list_messages(
    conn: Connection,
    account_id: int,
    *,
    flow: int | None,
    person: int | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    query = select(sandbox_messages).where(sandbox_messages.c.account_id == account_id)
    if flow is not None:
        query = query.where(sandbox_messages.c.flow_id == flow)
    if person is not None:
        query = query.where(sandbox_messages.c.person_id == person)
    rows = conn.execute(query.order_by(sandbox_messages.c.id).limit(limit + 1).offset(offset)).all()
    names = ElementNames(conn, account_id)
    names.preload((row.flow_id, row.version) for row in rows)
    out = []
    for row in rows:
        content = dict(row.content or {})
        out.append(
            {
                "id": row.id,
                "channel": row.channel,
                "to": row.to,
                "from": row.sender,
                **content,
                "parts": row.parts,
                "status": row.status,
                "sentAt": format_micros(row.sent_at),
                "flow": row.flow_id,
                "version": row.version,
                "element": row.element,
                "elementName": names.name(row.flow_id, row.version, row.element),
                "person": row.person_id,
            }
        )
    return out
