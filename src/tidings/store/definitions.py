"""Event definitions and custom attribute definitions: the account's declared types."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, NotFound
from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.values import ValueType
from tidings.store.tables import attribute_definitions, event_definitions


def _event_row(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "properties": dict(row.properties),
        "description": row.description,
        "standard": False,
        "createdAt": format_micros(row.created_at),
    }


def standard_event(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {k: v.value for k, v in STANDARD_EVENTS[name].items()},
        "description": "standard event",
        "standard": True,
        "createdAt": None,
    }


def create_event_definition(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    properties: dict[str, ValueType],
    description: str | None,
    now: int,
) -> dict[str, Any]:
    if name in STANDARD_EVENTS or _find_event(conn, account_id, name) is not None:
        raise Conflict(f"event {name!r} is already defined")
    conn.execute(
        insert(event_definitions).values(
            account_id=account_id,
            name=name,
            properties={k: v.value for k, v in properties.items()},
            description=description,
            created_at=now,
        )
    )
    return read_event_definition(conn, account_id, name)


def _find_event(conn: Connection, account_id: int, name: str) -> Any:
    return conn.execute(
        select(event_definitions).where(
            event_definitions.c.account_id == account_id, event_definitions.c.name == name
        )
    ).one_or_none()


def read_event_definition(conn: Connection, account_id: int, name: str) -> dict[str, Any]:
    if name in STANDARD_EVENTS:
        return standard_event(name)
    row = _find_event(conn, account_id, name)
    if row is None:
        raise NotFound(f"event {name!r} is not defined")
    return _event_row(row)


def list_event_definitions(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    standard = [standard_event(n) for n in sorted(STANDARD_EVENTS)]
    rows = conn.execute(
        select(event_definitions)
        .where(event_definitions.c.account_id == account_id)
        .order_by(event_definitions.c.name)
        .limit(limit + offset + 1)
    ).all()
    everything = standard + [_event_row(r) for r in rows]
    return everything[offset : offset + limit + 1]


def update_event_definition(
    conn: Connection,
    account_id: int,
    name: str,
    *,
    properties: dict[str, ValueType] | None,
    description: str | None,
) -> dict[str, Any]:
    if name in STANDARD_EVENTS:
        raise Conflict(f"{name!r} is a standard event and cannot be changed")
    current = read_event_definition(conn, account_id, name)
    values: dict[str, Any] = {}
    if properties is not None:
        changed = [
            k for k, v in current["properties"].items() if k in properties and properties[k] != v
        ]
        if changed:
            raise Conflict(
                f"the type of {', '.join(changed)} cannot change once defined: stored events "
                "carry the old type; add a new property instead"
            )
        values["properties"] = {
            **current["properties"],
            **{k: v.value for k, v in properties.items()},
        }
    if description is not None:
        values["description"] = description
    if values:
        conn.execute(
            update(event_definitions)
            .where(event_definitions.c.account_id == account_id, event_definitions.c.name == name)
            .values(**values)
        )
    return read_event_definition(conn, account_id, name)


def delete_event_definition(conn: Connection, account_id: int, name: str) -> None:
    if name in STANDARD_EVENTS:
        raise Conflict(f"{name!r} is a standard event and cannot be deleted")
    done = conn.execute(
        delete(event_definitions).where(
            event_definitions.c.account_id == account_id, event_definitions.c.name == name
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"event {name!r} is not defined")


def event_types(conn: Connection, account_id: int) -> dict[str, dict[str, ValueType]]:
    """Every event the account may send, with property types: standard plus custom."""
    out = dict(STANDARD_EVENTS)
    for row in conn.execute(
        select(event_definitions.c.name, event_definitions.c.properties).where(
            event_definitions.c.account_id == account_id
        )
    ):
        out[row.name] = {k: ValueType(v) for k, v in row.properties.items()}
    return out


# --- custom attributes -----------------------------------------------------------------


def _attribute_row(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "description": row.description,
        "createdAt": format_micros(row.created_at),
    }


def create_attribute(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    kind: ValueType,
    description: str | None,
    now: int,
) -> dict[str, Any]:
    exists = conn.execute(
        select(attribute_definitions.c.name).where(
            attribute_definitions.c.account_id == account_id,
            attribute_definitions.c.name == name,
        )
    ).first()
    if exists:
        raise Conflict(f"attribute {name!r} is already defined")
    conn.execute(
        insert(attribute_definitions).values(
            account_id=account_id,
            name=name,
            type=kind.value,
            description=description,
            created_at=now,
        )
    )
    return read_attribute(conn, account_id, name)


def read_attribute(conn: Connection, account_id: int, name: str) -> dict[str, Any]:
    row = conn.execute(
        select(attribute_definitions).where(
            attribute_definitions.c.account_id == account_id,
            attribute_definitions.c.name == name,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"attribute {name!r} is not defined")
    return _attribute_row(row)


def list_attributes(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(attribute_definitions)
        .where(attribute_definitions.c.account_id == account_id)
        .order_by(attribute_definitions.c.name)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return [_attribute_row(r) for r in rows]


def update_attribute(
    conn: Connection, account_id: int, name: str, *, description: str | None
) -> dict[str, Any]:
    read_attribute(conn, account_id, name)
    if description is not None:
        conn.execute(
            update(attribute_definitions)
            .where(
                attribute_definitions.c.account_id == account_id,
                attribute_definitions.c.name == name,
            )
            .values(description=description)
        )
    return read_attribute(conn, account_id, name)


def delete_attribute(conn: Connection, account_id: int, name: str) -> None:
    done = conn.execute(
        delete(attribute_definitions).where(
            attribute_definitions.c.account_id == account_id,
            attribute_definitions.c.name == name,
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"attribute {name!r} is not defined")


def attribute_types(conn: Connection, account_id: int) -> dict[str, ValueType]:
    return {
        row.name: ValueType(row.type)
        for row in conn.execute(
            select(attribute_definitions.c.name, attribute_definitions.c.type).where(
                attribute_definitions.c.account_id == account_id
            )
        )
    }
