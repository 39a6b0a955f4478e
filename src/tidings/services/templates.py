"""Flow templates: the predefined ones shipped in `flow_templates/`, and the account's own.

Starting from a predefined template also declares the events it listens to (when the
account has not already), so that a fresh account's flow validates clean at once.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, InvalidInput, NotFound, Problem
from tidings.domain.flows import canonical_data, parse_document
from tidings.domain.values import ValueType
from tidings.services.flow_views import flow_view, version_or_newest
from tidings.store import definitions
from tidings.store import flows as store
from tidings.store import templates as own_templates


@cache
def predefined() -> dict[str, dict[str, Any]]:
    """Name -> {title, description, events, document}, read once from the package."""
    out: dict[str, dict[str, Any]] = {}
    for item in sorted(resources.files("tidings.flow_templates").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            out[item.name.removesuffix(".json")] = json.loads(item.read_text())
    return out


def list_templates(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    shipped = [
        {"name": name, "title": t["title"], "description": t["description"], "predefined": True}
        for name, t in predefined().items()
    ]
    own = [
        {
            "name": row.name,
            "title": row.name,
            "description": row.description,
            "predefined": False,
            "createdAt": format_micros(row.created_at),
        }
        for row in own_templates.list_own(conn, account_id)
    ]
    return shipped + own


def start_from_template(conn: Connection, account_id: int, name: str, now: int) -> dict[str, Any]:
    shipped = predefined().get(name)
    if shipped is not None:
        known = definitions.event_types(conn, account_id)
        for event, properties in shipped["events"].items():
            if event not in known:
                definitions.create_event_definition(
                    conn,
                    account_id,
                    name=event,
                    properties={k: ValueType(v) for k, v in properties.items()},
                    description=f"declared by the {shipped['title']} template",
                    now=now,
                )
        document = canonical_data(parse_document(shipped["document"]))
    elif not name.isprintable():  # no stored name has control characters (NUL among them)
        raise NotFound(f"there is no template {name!r}; GET /templates lists them")
    else:
        row = own_templates.find(conn, account_id, name)
        if row is None:
            raise NotFound(f"there is no template {name!r}; GET /templates lists them")
        document = dict(row.document)
    flow_id = store.create_flow(conn, account_id, document=document, now=now)
    return flow_view(conn, account_id, flow_id)


def save_template(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    description: str | None,
    document: dict[str, Any],
    now: int,
) -> dict[str, Any]:
    if not name.isprintable():
        raise InvalidInput([Problem("name", "a template name has no control characters")])
    if name in predefined() or own_templates.find(conn, account_id, name) is not None:
        raise Conflict(f"a template named {name!r} exists already")
    own_templates.add(
        conn, account_id, name=name, description=description, document=document, now=now
    )
    return {
        "name": name,
        "title": name,
        "description": description,
        "predefined": False,
        "createdAt": format_micros(now),
    }


def save_flow_template(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    description: str | None,
    flow: int,
    version: int | None,
    now: int,
) -> dict[str, Any]:
    """A flow's version (the newest by default) saved as a template."""
    found = version_or_newest(conn, account_id, flow, version)
    store.read_flow(conn, account_id, flow)
    return save_template(
        conn, account_id, name=name, description=description, document=found.document, now=now
    )


def delete_template(conn: Connection, account_id: int, name: str) -> None:
    if name in predefined():
        raise Conflict(f"{name!r} is a predefined template and cannot be deleted")
    if not name.isprintable():
        raise NotFound(f"there is no template {name!r}")
    if not own_templates.remove(conn, account_id, name):
        raise NotFound(f"there is no template {name!r}")
