"""An account's own flow templates (the predefined ones ship with the package:
services/templates.py)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select

from tidings.store.tables import flow_templates


class TemplateRow(NamedTuple):
    name: str
    description: str | None
    document: dict[str, Any]
    created_at: int


def _row(r: Any) -> TemplateRow:
    return TemplateRow(r.name, r.description, dict(r.document), r.created_at)


def list_own(conn: Connection, account_id: int) -> list[TemplateRow]:
    rows = conn.execute(
        select(flow_templates)
        .where(flow_templates.c.account_id == account_id)
        .order_by(flow_templates.c.name)
    ).all()
    return [_row(r) for r in rows]


def find(conn: Connection, account_id: int, name: str) -> TemplateRow | None:
    found = conn.execute(
        select(flow_templates).where(
            flow_templates.c.account_id == account_id, flow_templates.c.name == name
        )
    ).one_or_none()
    return None if found is None else _row(found)


def add(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    description: str | None,
    document: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        insert(flow_templates).values(
            account_id=account_id,
            name=name,
            description=description,
            document=document,
            created_at=now,
        )
    )


def remove(conn: Connection, account_id: int, name: str) -> bool:
    """Delete the template; answer whether there was one."""
    done = conn.execute(
        delete(flow_templates).where(
            flow_templates.c.account_id == account_id, flow_templates.c.name == name
        )
    )
    return bool(done.rowcount)
