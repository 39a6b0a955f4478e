"""Real rows for tests that must not depend on the /people API.

People (standard attributes, custom attributes, tags, companies) and events are inserted
with SQLAlchemy Core into the store's own tables, through the writer, for one account.
Values are written as given: pass them in canonical form (`domain/values.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from tidings.bootstrap import Tidings
from tidings.domain.durations import to_micros
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.domain.values import ValueType
from tidings.store import definitions
from tidings.store.tables import companies, events, people, person_companies, person_tags, tags

COLUMNS = {"externalId": "external_id", **STANDARD_ATTRIBUTES}


def now_micros(system: Tidings) -> int:
    return to_micros(system.clock.now())


def declare_attributes(system: Tidings, account_id: int, kinds: Mapping[str, str]) -> None:
    """Declare custom attributes `{name: type}` through the store, in one transaction."""
    now = now_micros(system)

    def write(conn: Connection) -> None:
        for name, kind in kinds.items():
            definitions.create_attribute(
                conn, account_id, name=name, kind=ValueType(kind), description=None, now=now
            )

    system.db.write(write)


def _named(conn: Connection, table: Any, account_id: int, name: str, now: int) -> int:
    found = conn.execute(
        select(table.c.id).where(table.c.account_id == account_id, table.c.name == name)
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    values: dict[str, Any] = {"account_id": account_id, "name": name, "created_at": now}
    if table is companies:
        values.update(attributes={}, updated_at=now)
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def add_people(
    system: Tidings, account_id: int, persons: Iterable[Mapping[str, Any]]
) -> dict[str, int]:
    """Insert people in one transaction; each a dict of API-named standard attributes
    plus optional `attributes`, `tags` and `companies`. Returns externalId -> id."""
    now = now_micros(system)
    wanted = [dict(p) for p in persons]

    def write(conn: Connection) -> dict[str, int]:
        ids: dict[str, int] = {}
        for person in wanted:
            row: dict[str, Any] = {
                "account_id": account_id,
                "attributes": person.pop("attributes", {}),
                "created_at": now,
                "updated_at": now,
            }
            tag_names = person.pop("tags", [])
            company_names = person.pop("companies", [])
            row.update({COLUMNS[k]: v for k, v in person.items()})
            person_id = conn.execute(insert(people).values(**row).returning(people.c.id))
            pid = int(person_id.scalar_one())
            ids[row.get("external_id") or str(pid)] = pid
            for name in tag_names:
                tag_id = _named(conn, tags, account_id, name, now)
                conn.execute(
                    insert(person_tags).values(account_id=account_id, person_id=pid, tag_id=tag_id)
                )
            for name in company_names:
                company_id = _named(conn, companies, account_id, name, now)
                conn.execute(
                    insert(person_companies).values(
                        account_id=account_id, person_id=pid, company_id=company_id
                    )
                )
        return ids

    return system.db.write(write)


def add_person(system: Tidings, account_id: int, external_id: str, **fields: Any) -> int:
    return add_people(system, account_id, [{"externalId": external_id, **fields}])[external_id]


def add_events(
    system: Tidings,
    account_id: int,
    items: Iterable[tuple[int, str, Mapping[str, Any], datetime | int]],
) -> None:
    """Insert events `(person_id, name, properties, time)`; time an aware datetime or
    micros since the epoch."""
    now = now_micros(system)
    rows = [
        {
            "account_id": account_id,
            "person_id": person_id,
            "name": name,
            "properties": dict(properties),
            "time": when if isinstance(when, int) else to_micros(when),
            "received_at": now,
        }
        for person_id, name, properties, when in items
    ]
    system.db.write(lambda conn: conn.execute(insert(events), rows))
