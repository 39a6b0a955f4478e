"""The flow as clients read it: the All Communications list item and the flow's view
(its newest document, running version, last failure and version history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import format_micros
from tidings.domain.lifecycle import Status
from tidings.store import flows as store


def flow_view(conn: Connection, account_id: int, flow_id: int) -> dict[str, Any]:
    flow = store.read_flow(conn, account_id, flow_id)
    versions = store.list_versions(conn, account_id, flow_id)
    latest = versions[-1]
    running = [v.version for v in versions if v.status in (Status.active, Status.paused)]
    failed = [v for v in versions if v.status is Status.failed]
    return {
        **list_view(flow, latest),
        "document": latest.document,
        "activeVersion": running[-1] if running else None,
        "failure": None
        if not failed
        else {
            "version": failed[-1].version,
            "reason": failed[-1].failure,
            "at": None if failed[-1].finished_at is None else format_micros(failed[-1].finished_at),
        },
        "versions": [v.summary() for v in versions],
    }


def list_view(flow: store.Flow, latest: store.Version | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": flow.id,
        "name": flow.name,
        "status": flow.status.value,
        "schedule": {
            "start": None if flow.starts_at is None else format_micros(flow.starts_at),
            "end": None if flow.ends_at is None else format_micros(flow.ends_at),
        },
        "duplicateOf": flow.duplicate_of,
        "createdAt": format_micros(flow.created_at),
        "updatedAt": format_micros(flow.updated_at),
    }
    if latest is not None:
        out["version"] = latest.version
        out["versionStatus"] = latest.status.value
    return out


def list_flows(
    conn: Connection,
    account_id: int,
    *,
    status: Status | None,
    q: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """A page of the All Communications list (fetch `limit + 1` to know of more)."""
    rows = store.list_flows(conn, account_id, status=status, q=q, limit=limit, offset=offset)
    items = [list_view(flow) for flow in rows]
    for item, flow in zip(items, rows, strict=True):
        latest = store.latest_version(conn, account_id, flow.id)
        item["version"] = latest.version
        item["versionStatus"] = latest.status.value
    return items


def read_document(
    conn: Connection, account_id: int, flow_id: int, version: int | None = None
) -> dict[str, Any]:
    """A version's document (the newest by default)."""
    store.read_flow(conn, account_id, flow_id)
    return version_or_newest(conn, account_id, flow_id, version).document


def version_or_newest(
    conn: Connection, account_id: int, flow_id: int, number: int | None
) -> store.Version:
    """Version `number` of the flow, or its newest when None."""
    if number is None:
        return store.latest_version(conn, account_id, flow_id)
    return store.read_version(conn, account_id, flow_id, number)


def version_history(conn: Connection, account_id: int, flow_id: int) -> list[dict[str, Any]]:
    store.read_flow(conn, account_id, flow_id)
    return [v.summary() for v in store.list_versions(conn, account_id, flow_id)]


def check_flow(conn: Connection, account_id: int, flow_id: int) -> None:
    """NotFound unless the account has the flow."""
    store.read_flow(conn, account_id, flow_id)
