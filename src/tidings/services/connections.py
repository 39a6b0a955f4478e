"""Connections: an account's links to providers (DESIGN.md, Channels and providers).

A connection's settings are checked by its provider's settings model
(`channels/registry.py`); the secrets in them (`apiKey`, `authToken`, `password`) are
write-only: answers say `"set"`, a change that leaves a secret out keeps the stored one,
and no error message repeats a value. A provider `baseUrl` or SMTP `host` on a private,
loopback or link-local address is refused unless the account (or the server) allows
private URLs, as for `call_api`; the providers check again when they connect.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from sqlalchemy import Connection

from tidings.channels.addresses import ip_literal, is_localhost_name, refusal
from tidings.channels.registry import (
    CHANNELS_OF,
    PACING,
    PROVIDERS,
    secrets_of,
    settings_model,
)
from tidings.domain.durations import format_micros
from tidings.domain.errors import InvalidInput, Problem, ProblemList
from tidings.store import connections as store
from tidings.store.accounts import read_account
from tidings.store.connections import ConnectionRow

MAX_RATE = 1_000_000


def view(row: ConnectionRow, public_url: str) -> dict[str, Any]:
    """A connection as clients read it: secrets as "set", with its webhook URLs."""
    hidden = secrets_of(row.provider)
    settings = {k: ("set" if k in hidden and v else v) for k, v in row.settings.items()}
    base = f"{public_url.rstrip('/')}/api/v1/webhooks/{row.webhook_token}"
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "channels": list(row.channels),
        "settings": settings,
        "default": row.default_since is not None,
        "webhooks": {"delivery": f"{base}/delivery", "inbound": f"{base}/inbound"},
        "createdAt": format_micros(row.created_at),
        "updatedAt": format_micros(row.updated_at),
    }


def create(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    provider: str,
    channels: Sequence[str] | None,
    settings: Mapping[str, Any],
    default: bool,
    now: int,
    allow_private: bool,
) -> ConnectionRow:
    problems = ProblemList()
    if provider not in PROVIDERS:
        problems.add("provider", f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
        problems.raise_if_any()
    chosen = _channels(provider, channels, problems)
    checked = _settings(provider, settings, problems)
    problems.raise_if_any()
    _guard(provider, checked, allow_private or _account_allows(conn, account_id))
    return store.create(
        conn,
        account_id,
        name=name,
        provider=provider,
        channels=chosen,
        settings=checked,
        default=default,
        token=secrets.token_urlsafe(32),
        now=now,
    )


def change(
    conn: Connection,
    account_id: int,
    connection_id: int,
    *,
    name: str | None,
    channels: Sequence[str] | None,
    settings: Mapping[str, Any] | None,
    default: bool | None,
    now: int,
    allow_private: bool,
) -> ConnectionRow:
    """Change what is given; settings merge into the stored ones (a secret left out is
    kept), `null` removes a setting."""
    row = store.read(conn, account_id, connection_id)
    problems = ProblemList()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if channels is not None:
        values["channels"] = _channels(row.provider, channels, problems)
    if settings is not None:
        merged = {**row.settings, **settings}
        merged = {k: v for k, v in merged.items() if v is not None}
        values["settings"] = _settings(row.provider, merged, problems)
    problems.raise_if_any()
    if "settings" in values:
        _guard(row.provider, values["settings"], allow_private or _account_allows(conn, account_id))
    if default is not None:
        values["default_since"] = now if default else None
    return store.change(conn, account_id, connection_id, values, now)


def _account_allows(conn: Connection, account_id: int) -> bool:
    return bool(read_account(conn, account_id).allow_private_urls)


def _channels(provider: str, given: Sequence[str] | None, problems: ProblemList) -> list[str]:
    offered = CHANNELS_OF[provider]
    if given is None:
        return list(offered)
    if not given:
        problems.add("channels", "choose at least one channel")
    chosen: list[str] = []
    for i, channel in enumerate(given):
        if channel not in offered:
            problems.add(
                f"channels.{i}",
                f"{provider} does not carry {channel!r}; it carries {', '.join(offered)}",
            )
        elif channel not in chosen:
            chosen.append(channel)
    return chosen


def _settings(provider: str, given: Mapping[str, Any], problems: ProblemList) -> dict[str, Any]:
    """The settings as stored (wire names), or the problems, each naming its field and
    never repeating a secret's value."""
    rest = dict(given)
    rate = rest.pop(PACING, None)
    out: dict[str, Any] = {}
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= MAX_RATE:
            problems.add(
                f"settings.{PACING}", f"a number of messages a second, 0 < n <= {MAX_RATE}"
            )
        else:
            out[PACING] = rate
    model = settings_model(provider)
    try:
        parsed = model.model_validate(rest)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in error["loc"])
            problems.add(f"settings.{where}" if where else "settings", error["msg"])
        return out
    dumped = parsed.model_dump(mode="python", by_alias=True, exclude_none=True)
    out.update({k: _plain(v) for k, v in dumped.items()})
    return out


def _plain(value: Any) -> Any:
    """A setting as stored: a secret's own value, anything else as JSON has it."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _guard(provider: str, settings: Mapping[str, Any], allow_private: bool) -> None:
    """Refuse a provider address on a private network unless private URLs are allowed."""
    if allow_private:
        return
    field, host = _host(settings)
    if host is None:
        return
    addresses: list[str] = []
    if ip_literal(host) is None and not is_localhost_name(host):
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []  # not resolvable now: checked again when the provider connects
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = refusal(host, addresses)
    if refused is not None:
        message = f"{refused}; allow private URLs in the account settings"
        raise InvalidInput([Problem(f"settings.{field}", message)])


def _host(settings: Mapping[str, Any]) -> tuple[str, str | None]:
    if isinstance(settings.get("baseUrl"), str):
        return "baseUrl", urlsplit(settings["baseUrl"]).hostname
    if isinstance(settings.get("host"), str):
        return "host", settings["host"]
    return "", None
