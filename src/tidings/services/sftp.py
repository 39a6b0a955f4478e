"""SFTP connections (DESIGN.md, Reports, MEP and SFTP imports): an account's SFTP servers
for `sftp` entries. The password or private key is write-only (answers say "set", a
change that leaves it out keeps it, no message repeats it); the server's host key is
pinned; a host on a private network is refused unless private URLs are allowed (the
client checks the address again when it connects)."""

from __future__ import annotations

import re
import socket
from typing import Any

from sqlalchemy import Connection

from tidings.channels.addresses import ip_literal, is_localhost_name, refusal
from tidings.channels.sftp import check_private_key, parse_host_key
from tidings.domain.durations import format_micros
from tidings.domain.errors import InvalidInput, Problem, ProblemList
from tidings.store import sftp as store
from tidings.store.accounts import read_account
from tidings.store.sftp import SftpConnectionRow

SECRETS = ("password", "privateKey")
_HOST = re.compile(r"\[?[A-Za-z0-9._:%-]{1,253}\]?")


def view(row: SftpConnectionRow) -> dict[str, Any]:
    """A connection as clients read it: its secret as "set"."""
    return {
        "id": row.id,
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "username": row.username,
        "password": "set" if row.secrets.get("password") else None,
        "privateKey": "set" if row.secrets.get("privateKey") else None,
        "hostKey": row.host_key,
        "createdAt": format_micros(row.created_at),
        "updatedAt": format_micros(row.updated_at),
    }


def create(
    conn: Connection,
    account_id: int,
    fields: dict[str, Any],
    *,
    now: int,
    allow_private: bool,
) -> SftpConnectionRow:
    """`fields`: name, host, port, username, password or privateKey, hostKey."""
    values = _checked(fields, {})
    _guard(values["host"], allow_private or _account_allows(conn, account_id))
    return store.create_connection(conn, account_id, values, now)


def change(
    conn: Connection,
    account_id: int,
    connection_id: int,
    fields: dict[str, Any],
    *,
    now: int,
    allow_private: bool,
) -> SftpConnectionRow:
    """Change the fields given; a secret left out is kept, the other secret given
    replaces it (a connection has one)."""
    row = store.read_connection(conn, account_id, connection_id)
    current = {
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "username": row.username,
        "hostKey": row.host_key,
    }
    merged = {**current, **{k: v for k, v in fields.items() if k not in SECRETS}}
    given = {k: fields[k] for k in SECRETS if fields.get(k) is not None}
    values = _checked({**merged, **given}, row.secrets if not given else {})
    if "host" in fields:
        _guard(values["host"], allow_private or _account_allows(conn, account_id))
    return store.update_connection(conn, account_id, connection_id, values, now)


def _checked(fields: dict[str, Any], kept: dict[str, str] | Any) -> dict[str, Any]:
    problems = ProblemList()
    password, key = fields.get("password"), fields.get("privateKey")
    secrets: dict[str, str] = dict(kept)
    if password is not None and key is not None:
        problems.add("password", "give a password or a privateKey, not both")
    elif key is not None:
        try:
            check_private_key(key)
            secrets = {"privateKey": key}
        except ValueError as exc:
            problems.add("privateKey", str(exc))
    elif password is not None:
        secrets = {"password": password}
    if not secrets and password is None and key is None:
        problems.add("password", "give a password or a privateKey")
    host = str(fields.get("host") or "").strip()
    if not _HOST.fullmatch(host):
        problems.add("host", "a host name or IP address")
    host_key = str(fields.get("hostKey") or "").strip()
    try:
        parse_host_key(host_key)
    except ValueError as exc:
        problems.add("hostKey", str(exc))
    problems.raise_if_any()
    return {
        "name": fields["name"],
        "host": host.strip("[]"),
        "port": fields["port"],
        "username": fields["username"],
        "secrets": secrets,
        "host_key": host_key,
    }


def _account_allows(conn: Connection, account_id: int) -> bool:
    return bool(read_account(conn, account_id).allow_private_urls)


def _guard(host: str, allow_private: bool) -> None:
    """Refuse a host on a private network unless private URLs are allowed."""
    if allow_private:
        return
    addresses: list[str] = []
    if ip_literal(host) is None and not is_localhost_name(host):
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            infos = []  # not resolvable now: checked again when a poll connects
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = refusal(host, addresses)
    if refused is not None:
        message = f"{refused}; allow private URLs in the account settings"
        raise InvalidInput([Problem("host", message)])
