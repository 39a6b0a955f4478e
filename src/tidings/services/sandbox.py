"""The sandbox provider's settings: how it answers (shares delivered, seen, clicked, and
after how long). What it sent is a read of the store (`store/sandbox.list_messages`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import parse_duration
from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.sandbox import SandboxSettings
from tidings.store import sandbox


def read_settings(conn: Connection, account_id: int) -> dict[str, Any]:
    return sandbox.read_settings(conn, account_id).as_dict()


def check_settings(changes: dict[str, Any]) -> None:
    """InvalidInput unless the delay given is a duration (before any write)."""
    delay = changes.get("delay")
    if delay is not None:
        try:
            parse_duration(delay)
        except ValueError as exc:
            raise InvalidInput([Problem("delay", str(exc))]) from None


def change_settings(conn: Connection, account_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """The settings given change, the others stay (checked by `check_settings`)."""
    current = sandbox.read_settings(conn, account_id).as_dict()
    current.update(changes)
    settings = SandboxSettings(**current)
    sandbox.write_settings(conn, account_id, settings)
    return settings.as_dict()
