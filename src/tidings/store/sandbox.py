"""What the sandbox provider "sent", and each account's sandbox settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.sandbox import SandboxSettings
from tidings.store.element_names import ElementNames
from tidings.store.tables import accounts, sandbox_messages, sandbox_settings


def read_settings(conn: Connection, account_id: int) -> SandboxSettings:
    return settings_and_prices(conn, account_id)[0]


def settings_and_prices(
    conn: Connection, account_id: int
) -> tuple[SandboxSettings, dict[str, Any] | None]:
    """The account's sandbox settings and its price table (None: none), in one read."""
    row = conn.execute(
        select(
            accounts.c.prices,
            sandbox_settings.c.delivered,
            sandbox_settings.c.seen,
            sandbox_settings.c.clicked,
            sandbox_settings.c.delay,
        )
        .select_from(
            accounts.outerjoin(sandbox_settings, sandbox_settings.c.account_id == accounts.c.id)
        )
        .where(accounts.c.id == account_id)
    ).one_or_none()
    if row is None:
        return SandboxSettings(), None
    prices = dict(row.prices) if row.prices else None
    if row.delivered is None:
        return SandboxSettings(), prices
    return SandboxSettings(row.delivered, row.seen, row.clicked, row.delay), prices


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


def rewrite_contents(conn: Connection, rows: list[tuple[dict[str, Any], int]]) -> None:
    """(content, message id): the messages as they went out (tracked links)."""
    if rows:
        conn.execute(
            update(sandbox_messages)
            .where(sandbox_messages.c.id == bindparam("b_id"))
            .values(content=bindparam("b_content")),
            [{"b_content": content, "b_id": oid} for content, oid in rows],
        )
