"""What the sandbox provider "sent", and each account's sandbox settings."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from tidings.domain.durations import format_micros
from tidings.domain.sandbox import SandboxSettings
from tidings.store.dialect import dialect_of, json_param, param
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


def record(conn: Connection, messages: list[dict[str, Any]]) -> None:
    """Store sent messages once each, whatever the number of tries (id = outbox id), with
    one driver-level `executemany` (a launch sends hundreds of thousands)."""
    if not messages:
        return
    dialect = dialect_of(conn.engine.url.drivername)
    p, j = param(dialect), json_param(dialect)
    marks = ", ".join(j if c == "content" else p for c in COLUMNS)
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO sandbox_messages ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
        [
            tuple(orjson.dumps(m[c]).decode() if c == "content" else m[c] for c in COLUMNS)
            for m in messages
        ],
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
    rows = conn.execute(query.order_by(sandbox_messages.c.id).limit(limit + 1).offset(offset))
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
                "person": row.person_id,
            }
        )
    return out
