"""Person profiles: set-based writes of many people at once, and profile reads.

`write_people` applies a list of checked changes in a handful of statements whatever the
list's length: externalIds and companies are resolved in bulk, new people are inserted
with one multi-row INSERT … RETURNING, known people updated with one executemany, and
contacts, tags and companies replaced with one DELETE and one INSERT each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, NotFound, Problem
from tidings.domain.people import STANDARD_ATTRIBUTES, PersonChanges, combine, merge_attributes
from tidings.store.companies import find_companies
from tidings.store.dialect import dialect_of_conn, json_text
from tidings.store.person_refs import find_people
from tidings.store.tables import (
    companies,
    people,
    person_companies,
    person_contacts,
    person_tags,
    tags,
)
from tidings.store.tags import ensure_tags

CHUNK = 500
COLUMNS = [*STANDARD_ATTRIBUTES.values(), "unsubscribed"]


def consent(channels: Sequence[str] | None) -> str | None:
    """The `unsubscribed` column of these channels (NULL for none)."""
    return " ".join(sorted(set(channels))) if channels else None


@dataclass(frozen=True)
class PersonWrite:
    """One checked change. It targets `person_id` when given (the caller made sure it is
    the account's), else the person with `external_id` (created when unknown), else a
    new person."""

    changes: PersonChanges
    external_id: str | None = None
    person_id: int | None = None


@dataclass(frozen=True)
class Written:
    id: int
    created: bool


@dataclass(frozen=True)
class PeopleFilter:
    external_id: str | None = None
    tag: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    company_id: int | None = None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def write_people(
    conn: Connection, account_id: int, items: Sequence[PersonWrite], now: int
) -> list[Written | list[Problem]]:
    """Apply `items` in order, answering each with what was written or why it was refused.

    A refused item (it names a company the account does not have) writes nothing. Several
    items for one person are folded into one change, as if applied one after the other:
    the later wins field by field, and only the first of them counts as the creation.
    """
    answers: list[Written | list[Problem] | None] = [None] * len(items)
    company_ids = find_companies(
        conn, account_id, [n for item in items for n in item.changes.companies or []]
    )
    groups: dict[tuple[str, Any], list[int]] = {}
    for index, item in enumerate(items):
        unknown = [
            Problem(f"companies.{n}", f"company {name!r} does not exist: create it first")
            for n, name in enumerate(item.changes.companies or [])
            if name not in company_ids
        ]
        if unknown:
            answers[index] = unknown
        elif item.person_id is not None:
            groups.setdefault(("id", item.person_id), []).append(index)
        elif item.external_id is not None:
            groups.setdefault(("ext", item.external_id), []).append(index)
        else:
            groups[("new", index)] = [index]

    known = find_people(conn, account_id, [key[1] for key in groups if key[0] == "ext"])
    targets: dict[int, PersonChanges] = {}
    creations: list[tuple[tuple[str, Any], PersonChanges]] = []
    for key, indexes in groups.items():
        folded = reduce(combine, [items[i].changes for i in indexes])
        person_id = key[1] if key[0] == "id" else known.get(key[1]) if key[0] == "ext" else None
        if person_id is None:
            creations.append((key, folded))
        else:
            targets[person_id] = folded

    _update(conn, account_id, targets, now)
    created = _insert(conn, account_id, creations, now)
    changes = {created[key]: folded for key, folded in creations} | targets
    _replace_links(conn, account_id, changes, company_ids, set(created.values()), now)
    for key, indexes in groups.items():
        person_id = created.get(key) or (key[1] if key[0] == "id" else known[key[1]])
        for n, index in enumerate(indexes):
            answers[index] = Written(person_id, created=key in created and n == 0)
    return [a if a is not None else [] for a in answers]


def _insert(
    conn: Connection,
    account_id: int,
    creations: list[tuple[tuple[str, Any], PersonChanges]],
    now: int,
) -> dict[tuple[str, Any], int]:
    if not creations:
        return {}
    rows = []
    for key, folded in creations:
        row: dict[str, Any] = {column: None for column in COLUMNS}
        row.update({STANDARD_ATTRIBUTES[k]: v for k, v in folded.standard.items()})
        row["unsubscribed"] = consent(folded.unsubscribed)
        row.update(
            account_id=account_id,
            external_id=key[1] if key[0] == "ext" else None,
            attributes=merge_attributes({}, folded.attributes),
            created_at=now,
            updated_at=now,
        )
        rows.append(row)
    returned = conn.execute(
        insert(people).returning(people.c.id, sort_by_parameter_order=True), rows
    ).all()
    return {key: row.id for (key, _), row in zip(creations, returned, strict=True)}


def _update(conn: Connection, account_id: int, targets: dict[int, PersonChanges], now: int) -> None:
    """Overlay the changes on the stored rows and write them back with one executemany."""
    rows = []
    ids = list(targets)
    for chunk in _chunks(ids):
        current = conn.execute(
            select(people)
            .where(people.c.account_id == account_id, people.c.id.in_(chunk))
            .with_for_update()
        ).all()
        for row in current:
            folded = targets[row.id]
            values = {f"b_{c}": getattr(row, c) for c in COLUMNS}
            values.update({f"b_{STANDARD_ATTRIBUTES[k]}": v for k, v in folded.standard.items()})
            if folded.unsubscribed is not None:
                values["b_unsubscribed"] = consent(folded.unsubscribed)
            values["b_attributes"] = merge_attributes(row.attributes, folded.attributes)
            values["b_id"] = row.id
            rows.append(values)
    if len(rows) != len(ids):
        raise NotFound("a person to update does not exist")
    if rows:
        conn.execute(
            update(people)
            .where(people.c.account_id == account_id, people.c.id == bindparam("b_id"))
            .values(
                {c: bindparam(f"b_{c}") for c in [*COLUMNS, "attributes"]} | {"updated_at": now}
            ),
            rows,
        )


def _replace_links(
    conn: Connection,
    account_id: int,
    changes: dict[int, PersonChanges],
    company_ids: dict[str, int],
    new_people: set[int],
    now: int,
) -> None:
    """Replace the contacts, tags and companies of the people whose change gives them."""
    for kind, field in (("phone", "phones"), ("email", "emails")):
        given = _given(changes, field)
        _clear(conn, person_contacts, account_id, [p for p in given if p not in new_people], kind)
        row = {"account_id": account_id, "kind": kind}
        _insert_rows(
            conn,
            person_contacts,
            [
                {**row, "person_id": pid, "value": value, "position": n}
                for pid, values in given.items()
                for n, value in enumerate(values)
            ],
        )
    tag_ids = ensure_tags(
        conn, account_id, [t for c in changes.values() for t in c.tags or []], now
    )
    for table, field, column, ids in (
        (person_tags, "tags", "tag_id", tag_ids),
        (person_companies, "companies", "company_id", company_ids),
    ):
        named = _given(changes, field)
        _clear(conn, table, account_id, [p for p in named if p not in new_people])
        _insert_rows(
            conn,
            table,
            [
                {"account_id": account_id, "person_id": pid, column: ids[name]}
                for pid, names in named.items()
                for name in names
            ],
        )


def _given(changes: dict[int, PersonChanges], field: str) -> dict[int, list[str]]:
    """person id -> the list `field` (phones, tags, ...) of those whose change gives it."""
    return {pid: getattr(c, field) for pid, c in changes.items() if getattr(c, field) is not None}


def _clear(
    conn: Connection, table: Any, account_id: int, person_ids: list[int], kind: str | None = None
) -> None:
    for chunk in _chunks(person_ids):
        query = delete(table).where(table.c.account_id == account_id, table.c.person_id.in_(chunk))
        if kind is not None:
            query = query.where(table.c.kind == kind)
        conn.execute(query)


def _insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def change_external_id(
    conn: Connection, account_id: int, person_id: int, external_id: str | None, now: int
) -> None:
    """Give a known person another externalId (None removes it); 409 when it is taken."""
    if external_id is not None:
        holder = find_people(conn, account_id, [external_id]).get(external_id)
        if holder is not None and holder != person_id:
            raise Conflict(f"externalId {external_id!r} belongs to person {holder}")
    done = conn.execute(
        update(people)
        .where(people.c.account_id == account_id, people.c.id == person_id)
        .values(external_id=external_id, updated_at=now)
    )
    if done.rowcount == 0:
        raise NotFound(f"person {person_id} does not exist")


def delete_person(conn: Connection, account_id: int, person_id: int) -> None:
    """Delete a person and, by FK cascade, their contacts, tags, companies and events."""
    done = conn.execute(
        delete(people).where(people.c.account_id == account_id, people.c.id == person_id)
    )
    if done.rowcount == 0:
        raise NotFound(f"person {person_id} does not exist")


def drop_attribute(conn: Connection, account_id: int, name: str) -> int:
    """Remove custom attribute `name` from every profile that has it; how many had it."""
    holders = conn.execute(
        select(people.c.id, people.c.attributes).where(
            people.c.account_id == account_id,
            json_text(dialect_of_conn(conn), people.c.attributes, name).is_not(None),
        )
    ).all()
    rows = [
        {"b_id": row.id, "b_attributes": {k: v for k, v in row.attributes.items() if k != name}}
        for row in holders
    ]
    if rows:
        conn.execute(
            update(people)
            .where(people.c.account_id == account_id, people.c.id == bindparam("b_id"))
            .values(attributes=bindparam("b_attributes")),
            rows,
        )
    return len(rows)


# --- reads ----------------------------------------------------------------------------


def read_person(conn: Connection, account_id: int, person_id: int) -> dict[str, Any]:
    found = read_people(conn, account_id, [person_id])
    if not found:
        raise NotFound(f"person {person_id} does not exist")
    return found[0]


def read_people(conn: Connection, account_id: int, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The profiles of `ids` that are the account's, in the order of `ids`."""
    rows: list[Any] = []
    for chunk in _chunks(list(dict.fromkeys(ids))):
        rows.extend(
            conn.execute(
                select(people).where(people.c.account_id == account_id, people.c.id.in_(chunk))
            ).all()
        )
    by_id = {person["id"]: person for person in _profiles(conn, account_id, rows)}
    return [by_id[i] for i in ids if i in by_id]


def list_people(
    conn: Connection, account_id: int, where: PeopleFilter, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Profiles by id matching every given filter, `limit + 1` of them."""
    query = select(people).where(people.c.account_id == account_id)
    if where.external_id is not None:
        query = query.where(people.c.external_id == where.external_id)
    for kind, value in (("email", where.email), ("phone", where.phone)):
        if value is not None:
            query = query.where(
                people.c.id.in_(
                    select(person_contacts.c.person_id).where(
                        person_contacts.c.account_id == account_id,
                        person_contacts.c.kind == kind,
                        person_contacts.c.value == value,
                    )
                )
            )
    if where.tag is not None:
        query = query.where(
            people.c.id.in_(
                select(person_tags.c.person_id)
                .join(tags, tags.c.id == person_tags.c.tag_id)
                .where(tags.c.account_id == account_id, tags.c.name == where.tag)
            )
        )
    if where.company is not None or where.company_id is not None:
        by_company = select(person_companies.c.person_id).join(
            companies, companies.c.id == person_companies.c.company_id
        )
        by_company = by_company.where(companies.c.account_id == account_id)
        if where.company is not None:
            by_company = by_company.where(companies.c.name == where.company)
        if where.company_id is not None:
            by_company = by_company.where(companies.c.id == where.company_id)
        query = query.where(people.c.id.in_(by_company))
    rows = conn.execute(query.order_by(people.c.id).limit(limit + 1).offset(offset)).all()
    return _profiles(conn, account_id, rows)


def _profiles(conn: Connection, account_id: int, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """People rows as profiles, with contacts, tags and companies loaded in bulk."""
    out = {row.id: _person_json(row) for row in rows}
    for chunk in _chunks(list(out)):
        for contact in conn.execute(
            select(person_contacts.c.person_id, person_contacts.c.kind, person_contacts.c.value)
            .where(
                person_contacts.c.account_id == account_id, person_contacts.c.person_id.in_(chunk)
            )
            .order_by(person_contacts.c.person_id, person_contacts.c.position)
        ):
            out[contact.person_id]["phones" if contact.kind == "phone" else "emails"].append(
                contact.value
            )
        for tag in conn.execute(
            select(person_tags.c.person_id, tags.c.name)
            .join(tags, tags.c.id == person_tags.c.tag_id)
            .where(person_tags.c.account_id == account_id, person_tags.c.person_id.in_(chunk))
            .order_by(tags.c.name)
        ):
            out[tag.person_id]["tags"].append(tag.name)
        for company in conn.execute(
            select(person_companies.c.person_id, companies.c.name)
            .join(companies, companies.c.id == person_companies.c.company_id)
            .where(
                person_companies.c.account_id == account_id,
                person_companies.c.person_id.in_(chunk),
            )
            .order_by(companies.c.name)
        ):
            out[company.person_id]["companies"].append(company.name)
    return list(out.values())


def _person_json(row: Any) -> dict[str, Any]:
    person: dict[str, Any] = {"id": row.id, "externalId": row.external_id}
    person.update({name: getattr(row, column) for name, column in STANDARD_ATTRIBUTES.items()})
    person.update(
        phones=[],
        emails=[],
        tags=[],
        companies=[],
        unsubscribed=row.unsubscribed.split() if row.unsubscribed else [],
        attributes=dict(row.attributes),
        createdAt=format_micros(row.created_at),
        updatedAt=format_micros(row.updated_at),
    )
    return person


CONTACT_CHUNK = 500  # contact values a look-up lists


def person_by_phone(conn: Connection, account_id: int, phone: str) -> int | None:
    """The first person of the account with this phone number (by id), or None."""
    return people_by_contact(conn, account_id, "phone", [phone]).get(phone)


def people_by_contact(
    conn: Connection, account_id: int, kind: str, values: Sequence[str]
) -> dict[str, int]:
    """value -> the first person (by id) of the account with that phone or email."""
    found: dict[str, int] = {}
    wanted = list(dict.fromkeys(values))
    for start in range(0, len(wanted), CONTACT_CHUNK):
        rows = conn.execute(
            select(person_contacts.c.value, func.min(person_contacts.c.person_id))
            .where(
                person_contacts.c.account_id == account_id,
                person_contacts.c.kind == kind,
                person_contacts.c.value.in_(wanted[start : start + CONTACT_CHUNK]),
            )
            .group_by(person_contacts.c.value)
        ).all()
        found.update((r[0], int(r[1])) for r in rows)
    return found


def add_unsubscribed(
    conn: Connection, account_id: int, person_id: int, channels: Iterable[str], now: int
) -> bool:
    """Add `channels` to the person's opt-outs (consent: an inbound STOP, the one-click
    unsubscribe, a provider's report; a send on such a channel is then not made, see
    domain/journey/elements/messages.py); answer whether anything changed."""
    current = conn.execute(
        select(people.c.unsubscribed)
        .where(people.c.account_id == account_id, people.c.id == person_id)
        .with_for_update()
    ).first()
    if current is None:
        return False
    before = set((current[0] or "").split())
    after = before | set(channels)
    if after == before:
        return False
    conn.execute(
        update(people)
        .where(people.c.account_id == account_id, people.c.id == person_id)
        .values(unsubscribed=consent(sorted(after)), updated_at=now)
    )
    return True
