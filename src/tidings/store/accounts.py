"""Accounts and their API keys. Keys are stored as SHA-256 hashes, never in clear."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.errors import Conflict, NotFound
from tidings.store.dialect import for_update
from tidings.store.tables import accounts, api_keys

DEFAULT_ACCOUNT_ID = 1


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    timezone: str
    allow_private_urls: bool
    created_at: int
    prices: dict[str, Any] | None = None
    parent_id: int | None = None
    mep_subscription: int | None = None


@dataclass(frozen=True)
class KeyOwner:
    """Who a presented key belongs to."""

    account_id: int
    admin: bool
    key_id: int


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "tdk_" + secrets.token_urlsafe(32)


def create_account(
    conn: Connection, *, name: str, timezone: str, now: int, parent_id: int | None = None
) -> Account:
    """A new account; `parent_id`: the account whose admin key created it (a sub-account)."""
    row = conn.execute(
        insert(accounts)
        .values(
            name=name,
            timezone=timezone,
            allow_private_urls=False,
            created_at=now,
            parent_id=parent_id,
        )
        .returning(*accounts.c)
    ).one()
    return Account(**row._mapping)


def family(conn: Connection, account_id: int) -> list[tuple[int, str, str]]:
    """The account and its sub-accounts (those its admin keys created), as (id, name,
    timezone), the account first."""
    rows = conn.execute(
        select(accounts.c.id, accounts.c.name, accounts.c.timezone)
        .where((accounts.c.id == account_id) | (accounts.c.parent_id == account_id))
        .order_by(accounts.c.id)
    ).all()
    own = [(int(r[0]), r[1], r[2]) for r in rows if r[0] == account_id]
    return own + [(int(r[0]), r[1], r[2]) for r in rows if r[0] != account_id]


def read_account(conn: Connection, account_id: int) -> Account:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).one_or_none()
    if row is None:
        raise NotFound(f"account {account_id} does not exist")
    return Account(**row._mapping)


def update_account(conn: Connection, account_id: int, changes: dict[str, Any]) -> Account:
    if changes:
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(**changes))
    return read_account(conn, account_id)


def create_key(
    conn: Connection, *, account_id: int, name: str, admin: bool, now: int, key: str | None = None
) -> str:
    """Store a key (a new random one unless given) and return it in clear, once."""
    key = key or new_key()
    conn.execute(
        insert(api_keys).values(
            account_id=account_id,
            name=name,
            key_hash=hash_key(key),
            prefix=key[:8],
            admin=admin,
            created_at=now,
        )
    )
    return key


@dataclass(frozen=True)
class Key:
    """A key as listed: never its secret (only a hash is kept)."""

    id: int
    name: str
    prefix: str
    admin: bool
    created_at: int
    last_used_at: int | None


def list_keys(conn: Connection, account_id: int) -> list[Key]:
    rows = conn.execute(
        select(api_keys.c.id, api_keys.c.name, api_keys.c.prefix, api_keys.c.admin)
        .add_columns(api_keys.c.created_at, api_keys.c.last_used_at)
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.id)
    ).all()
    return [
        Key(int(r[0]), r[1], r[2], bool(r[3]), int(r[4]), None if r[5] is None else int(r[5]))
        for r in rows
    ]


def touch_key(conn: Connection, key_id: int, now: int) -> None:
    """The key was presented at `now` (the API's key cache calls this at most once per
    key and cache period, not on every call)."""
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


def read_key(conn: Connection, account_id: int, key_id: int) -> Key:
    for key in list_keys(conn, account_id):
        if key.id == key_id:
            return key
    raise NotFound(f"key {key_id} does not exist")


def delete_key(conn: Connection, account_id: int, key_id: int) -> Key:
    """Revoke one of the account's keys (its row goes: the key resolves to nobody). The
    account's last admin key stays: without it nobody could manage the account."""
    admins = for_update(
        conn,
        select(api_keys.c.id).where(
            api_keys.c.account_id == account_id, api_keys.c.admin.is_(True)
        ),
    )
    admin_ids = {int(i) for i in conn.execute(admins).scalars()}  # locked until commit
    key = read_key(conn, account_id, key_id)
    if admin_ids == {key_id}:
        raise Conflict(
            f"key {key_id} is the account's last admin key; create another admin key "
            "before revoking it"
        )
    conn.execute(
        delete(api_keys).where(api_keys.c.account_id == account_id, api_keys.c.id == key_id)
    )
    return key


def resolve_key(conn: Connection, key: str) -> KeyOwner | None:
    row = conn.execute(
        select(api_keys.c.account_id, api_keys.c.admin, api_keys.c.id).where(
            api_keys.c.key_hash == hash_key(key)
        )
    ).one_or_none()
    return None if row is None else KeyOwner(row.account_id, row.admin, row.id)


def ensure_default_account(conn: Connection, *, api_key: str | None, now: int) -> str | None:
    """Create the default account on first start. `api_key`, when given, becomes (or stays)
    its admin key. Returns a newly generated key when one had to be made, else None."""
    exists = conn.execute(select(func.count()).select_from(accounts)).scalar_one() > 0
    generated: str | None = None
    if not exists:
        # The first account of an empty database takes id 1 on both databases, and stays
        # the default account (the one whose admin keys may create other accounts).
        created = create_account(conn, name="Default", timezone="UTC", now=now)
        assert created.id == DEFAULT_ACCOUNT_ID
    if api_key is not None:
        known = resolve_key(conn, api_key)
        if known is None:
            create_key(
                conn,
                account_id=DEFAULT_ACCOUNT_ID,
                name="TIDINGS_API_KEY",
                admin=True,
                now=now,
                key=api_key,
            )
        elif known.account_id != DEFAULT_ACCOUNT_ID or not known.admin:
            raise ValueError("TIDINGS_API_KEY is already a key of another account")
    elif not exists:
        generated = create_key(
            conn, account_id=DEFAULT_ACCOUNT_ID, name="first key", admin=True, now=now
        )
    return generated


def price_tables(conn: Connection, account_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The price tables of these accounts, of those that have one."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(accounts.c.id, accounts.c.prices).where(
            accounts.c.id.in_(wanted), accounts.c.prices.is_not(None)
        )
    ).all()
    return {int(r[0]): dict(r[1]) for r in rows if r[1]}
