"""Connections: an account's links to providers (DESIGN.md, Channels and providers).

Rows carry their settings with the secrets in them: this module answers them whole to
its callers (the services and the dispatcher's routes), and only `services/connections`
shapes what a client sees (secrets as "set"). A connection's webhook token is global and
unguessable; `by_token` is the one read without an account, because a provider's
callback carries no API key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.errors import NotFound
from tidings.store.tables import connections


class ConnectionRow(NamedTuple):
    id: int
    account_id: int
    name: str
    provider: str
    channels: tuple[str, ...]
    settings: Mapping[str, Any]
    default_since: int | None
    webhook_token: str
    created_at: int
    updated_at: int


_COLUMNS = (
    connections.c.id,
    connections.c.account_id,
    connections.c.name,
    connections.c.provider,
    connections.c.channels,
    connections.c.settings,
    connections.c.default_since,
    connections.c.webhook_token,
    connections.c.created_at,
    connections.c.updated_at,
)


def _row(r: Any) -> ConnectionRow:
    return ConnectionRow(
        int(r.id),
        int(r.account_id),
        r.name,
        r.provider,
        tuple(r.channels or ()),
        dict(r.settings or {}),
        r.default_since,
        r.webhook_token,
        r.created_at,
        r.updated_at,
    )


def create(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    provider: str,
    channels: Sequence[str],
    settings: Mapping[str, Any],
    default: bool,
    token: str,
    now: int,
) -> ConnectionRow:
    created = conn.execute(
        insert(connections)
        .values(
            account_id=account_id,
            name=name,
            provider=provider,
            channels=list(channels),
            settings=dict(settings),
            default_since=now if default else None,
            webhook_token=token,
            created_at=now,
            updated_at=now,
        )
        .returning(connections.c.id)
    ).scalar_one()
    return read(conn, account_id, int(created))


def read(conn: Connection, account_id: int, connection_id: int) -> ConnectionRow:
    found = conn.execute(
        select(*_COLUMNS).where(
            connections.c.account_id == account_id, connections.c.id == connection_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"connection {connection_id} not found")
    return _row(found)


def list_of(conn: Connection, account_id: int, *, limit: int, offset: int) -> list[ConnectionRow]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(connections.c.account_id == account_id)
        .order_by(connections.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_row(r) for r in rows]


def of_account(conn: Connection, account_id: int) -> list[ConnectionRow]:
    """Every connection of the account (a flow's check reads which ones exist)."""
    rows = conn.execute(
        select(*_COLUMNS).where(connections.c.account_id == account_id).order_by(connections.c.id)
    ).all()
    return [_row(r) for r in rows]


def change(
    conn: Connection, account_id: int, connection_id: int, values: Mapping[str, Any], now: int
) -> ConnectionRow:
    """Set these columns (`name`, `channels`, `settings`, `default_since`)."""
    read(conn, account_id, connection_id)
    conn.execute(
        update(connections)
        .where(connections.c.account_id == account_id, connections.c.id == connection_id)
        .values(**values, updated_at=now)
    )
    return read(conn, account_id, connection_id)


def remove(conn: Connection, account_id: int, connection_id: int) -> None:
    read(conn, account_id, connection_id)
    conn.execute(
        delete(connections).where(
            connections.c.account_id == account_id, connections.c.id == connection_id
        )
    )


def by_token(conn: Connection, token: str) -> ConnectionRow | None:
    """The connection a webhook token names (any account), or None."""
    found = conn.execute(select(*_COLUMNS).where(connections.c.webhook_token == token)).first()
    return None if found is None else _row(found)


def by_ids(conn: Connection, ids: Sequence[int]) -> dict[int, ConnectionRow]:
    """These connections (of whichever account), by id; a deleted one is missing."""
    if not ids:
        return {}
    rows = conn.execute(select(*_COLUMNS).where(connections.c.id.in_(sorted(set(ids))))).all()
    return {int(r.id): _row(r) for r in rows}


def stamp(conn: Connection) -> tuple[object, ...]:
    """Changes whenever a connection is made, changed or removed."""
    found = conn.execute(
        select(func.max(connections.c.updated_at), func.count(), func.max(connections.c.id))
    ).one()
    return tuple(found)


def routes(conn: Connection) -> list[tuple[int, int, str, tuple[str, ...], int | None]]:
    """(id, account, provider, channels, default since) of every connection: what the
    engine routes messages by."""
    rows = conn.execute(
        select(
            connections.c.id,
            connections.c.account_id,
            connections.c.provider,
            connections.c.channels,
            connections.c.default_since,
        )
    ).all()
    return [(int(r[0]), int(r[1]), r[2], tuple(r[3] or ()), r[4]) for r in rows]
