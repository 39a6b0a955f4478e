"""API keys of an account (DESIGN.md, "Accounts"/"Keys"): create (the secret answered
once), list (never the secrets: only a SHA-256 hash is kept) and revoke.

The API (`api/routes/keys.py`) and the CLI (`tidings keys create | list`) both call these;
the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import format_micros
from tidings.domain.errors import InvalidInput, Problem
from tidings.store import accounts as store


def key_view(key: store.Key) -> dict[str, Any]:
    """A key as clients read it: `prefix` is its first characters, to tell keys apart."""
    return {
        "id": key.id,
        "name": key.name,
        "admin": key.admin,
        "prefix": key.prefix,
        "createdAt": format_micros(key.created_at),
        "lastUsedAt": None if key.last_used_at is None else format_micros(key.last_used_at),
    }


def create_key(
    conn: Connection, account_id: int, *, name: str, admin: bool, now: int
) -> dict[str, Any]:
    """A new key of the account: its view with the key itself (`key`), shown only here."""
    if not name.strip() or not name.isprintable():
        raise InvalidInput([Problem("name", "a key's name is text without control characters")])
    store.read_account(conn, account_id)  # NotFound for an unknown account (the CLI)
    secret = store.create_key(conn, account_id=account_id, name=name, admin=admin, now=now)
    owner = store.resolve_key(conn, secret)
    assert owner is not None  # just written, in this transaction
    return {**key_view(store.read_key(conn, account_id, owner.key_id)), "key": secret}


def list_keys(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    store.read_account(conn, account_id)
    return [key_view(k) for k in store.list_keys(conn, account_id)]


def revoke_key(conn: Connection, account_id: int, key_id: int) -> dict[str, Any]:
    """Revoke one of the account's keys (Conflict: its last admin key)."""
    return key_view(store.delete_key(conn, account_id, key_id))
