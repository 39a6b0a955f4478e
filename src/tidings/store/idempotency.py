"""Idempotency keys: a retried request with the same key within 24 h gets the first answer.

Use inside the same write transaction as the work itself: `recall` first; if nothing is
remembered, do the work and `remember` its answer. Both commit together, so an answer is
remembered exactly when its writes are stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from tidings.domain.errors import Conflict
from tidings.store.dialect import dialect_of_conn, insert_ignore
from tidings.store.tables import idempotency_keys

WINDOW_MICROS = 24 * 3600 * 1_000_000
MAX_KEY = 255


def recall(
    conn: Connection, account_id: int, scope: str, key: str, now: int
) -> tuple[int, Any] | None:
    row = conn.execute(
        select(
            idempotency_keys.c.status, idempotency_keys.c.response, idempotency_keys.c.created_at
        ).where(
            idempotency_keys.c.account_id == account_id,
            idempotency_keys.c.scope == scope,
            idempotency_keys.c.key == key,
        )
    ).one_or_none()
    if row is None or row.created_at < now - WINDOW_MICROS:
        return None
    return row.status, row.response


def remember(
    conn: Connection, account_id: int, scope: str, key: str, status: int, body: Any, now: int
) -> None:
    where = (
        (idempotency_keys.c.account_id == account_id)
        & (idempotency_keys.c.scope == scope)
        & (idempotency_keys.c.key == key)
    )
    conn.execute(
        delete(idempotency_keys).where(where, idempotency_keys.c.created_at < now - WINDOW_MICROS)
    )
    done = conn.execute(
        insert_ignore(dialect_of_conn(conn), idempotency_keys).values(
            account_id=account_id,
            scope=scope,
            key=key,
            status=status,
            response=body,
            created_at=now,
        )
    )
    if done.rowcount == 0:
        # Another server process stored an answer for this key in the meantime.
        raise Conflict("a request with this Idempotency-Key is already being answered; retry it")


def _storable(value: Any) -> Any:
    """The answer as PostgreSQL can keep it: a refused item may quote the caller's NUL
    characters (or lone surrogates) back, which JSONB cannot hold, so they are escaped."""
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            return value.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
        return value
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value
