"""Profile snapshots of people for a batch (`Person`), loaded with only what the batch's
programs read, and which people still exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.domain.journey import Person
from tidings.domain.journey.needs import EVERYTHING, Needs
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.store.dialect import (
    dialect_of_conn,
    param,
)
from tidings.store.raw import chunks, fetch

_API_NAMES = tuple(STANDARD_ATTRIBUTES)


def load_people(
    conn: Connection, ids: Iterable[int], needs: Needs = EVERYTHING
) -> dict[int, Person]:
    """Profile snapshots for a batch: raw SQL and orjson, up to three queries per 500
    people (a batch loads thousands; Core's row mapping and json decoding cost more than
    SQL). `needs` (domain/journey/needs.py) leaves out what nobody will read: the
    custom attributes, standard columns, tags, a kind of contact."""
    wanted = sorted(set(ids))
    p = param(dialect_of_conn(conn))
    names = (
        _API_NAMES
        if needs.attributes is None
        else tuple(n for n in _API_NAMES if n in needs.attributes)
    )
    custom = needs.attributes is None or any(n not in STANDARD_ATTRIBUTES for n in needs.attributes)
    columns = ["id", "external_id", "attributes" if custom else "NULL", "unsubscribed"]
    columns += [STANDARD_ATTRIBUTES[n] for n in names]
    kinds = [
        k for k, wanted_kind in (("phone", needs.phones), ("email", needs.emails)) if wanted_kind
    ]
    found: dict[int, tuple[str | None, dict[str, Any]]] = {}
    opted_out: dict[int, frozenset[str]] = {}
    tag_names: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(wanted):
        marks = ", ".join([p] * len(chunk))
        for row in fetch(
            conn, f"SELECT {', '.join(columns)} FROM people WHERE id IN ({marks})", chunk
        ):
            raw = row[2]
            attributes = dict(orjson.loads(raw) if isinstance(raw, str | bytes) else raw or {})
            for name, value in zip(names, row[4:], strict=True):
                if value is not None:
                    attributes[name] = value
            found[row[0]] = (row[1], attributes)
            if row[3]:
                opted_out[row[0]] = frozenset(row[3].split())
        if needs.tags:
            for person_id, name in fetch(
                conn,
                "SELECT person_tags.person_id, tags.name FROM person_tags JOIN tags "
                f"ON tags.id = person_tags.tag_id WHERE person_tags.person_id IN ({marks})",
                chunk,
            ):
                tag_names[person_id].append(name)
        if kinds:
            only = "" if len(kinds) == 2 else f"kind = '{kinds[0]}' AND "
            for person_id, kind, value in fetch(
                conn,
                "SELECT person_id, kind, value FROM person_contacts "
                f"WHERE {only}person_id IN ({marks}) ORDER BY person_id, position",
                chunk,
            ):
                (phones if kind == "phone" else emails)[person_id].append(value)
    return {
        pid: Person(
            id=pid,
            external_id=external_id,
            attributes=attributes,
            tags=frozenset(tag_names.get(pid, ())),
            phones=tuple(phones.get(pid, ())),
            emails=tuple(emails.get(pid, ())),
            timezone=attributes.get("timezone"),
            unsubscribed=opted_out.get(pid, frozenset()),
        )
        for pid, (external_id, attributes) in found.items()
    }


def existing_people(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Those of these people who exist (not deleted)."""
    p = param(dialect_of_conn(conn))
    out: list[int] = []
    for chunk in chunks(sorted(set(ids))):
        marks = ", ".join([p] * len(chunk))
        out += [r[0] for r in fetch(conn, f"SELECT id FROM people WHERE id IN ({marks})", chunk)]
    return out
