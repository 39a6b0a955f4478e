"""Companies: the organisations people belong to (B2B journeys), named per account."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, NotFound
from tidings.domain.people import CompanyChanges, merge_attributes
from tidings.store.tables import companies, person_companies

CHUNK = 500


def _company_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "domain": row.domain,
        "attributes": dict(row.attributes),
        "peopleCount": row.people_count,
        "createdAt": format_micros(row.created_at),
        "updatedAt": format_micros(row.updated_at),
    }


def _with_counts() -> Any:
    people_count = (
        select(func.count())
        .where(
            person_companies.c.account_id == companies.c.account_id,
            person_companies.c.company_id == companies.c.id,
        )
        .scalar_subquery()
        .label("people_count")
    )
    return select(companies, people_count)


def _name_taken(conn: Connection, account_id: int, name: str, but: int | None = None) -> bool:
    query = select(companies.c.id).where(
        companies.c.account_id == account_id, companies.c.name == name
    )
    if but is not None:
        query = query.where(companies.c.id != but)
    return conn.execute(query).first() is not None


def create_company(
    conn: Connection, account_id: int, changes: CompanyChanges, *, now: int
) -> dict[str, Any]:
    assert changes.name is not None
    if _name_taken(conn, account_id, changes.name):
        raise Conflict(f"company {changes.name!r} already exists")
    company_id = conn.execute(
        insert(companies)
        .values(
            account_id=account_id,
            name=changes.name,
            domain=changes.domain,
            attributes=merge_attributes({}, changes.attributes),
            created_at=now,
            updated_at=now,
        )
        .returning(companies.c.id)
    ).scalar_one()
    return read_company(conn, account_id, company_id)


def read_company(conn: Connection, account_id: int, company_id: int) -> dict[str, Any]:
    row = conn.execute(
        _with_counts().where(companies.c.account_id == account_id, companies.c.id == company_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"company {company_id} does not exist")
    return _company_row(row)


def list_companies(
    conn: Connection, account_id: int, *, q: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Companies by name, optionally those whose name contains `q` (any case)."""
    query = _with_counts().where(companies.c.account_id == account_id)
    if q:
        query = query.where(func.lower(companies.c.name).contains(q.lower(), autoescape=True))
    rows = conn.execute(
        query.order_by(companies.c.name, companies.c.id).limit(limit + 1).offset(offset)
    ).all()
    return [_company_row(r) for r in rows]


def update_company(
    conn: Connection, account_id: int, company_id: int, changes: CompanyChanges, *, now: int
) -> dict[str, Any]:
    """Rename, change the domain (None clears it), merge attributes key by key."""
    current = read_company(conn, account_id, company_id)
    values: dict[str, Any] = {}
    if changes.name is not None and changes.name != current["name"]:
        if _name_taken(conn, account_id, changes.name, but=company_id):
            raise Conflict(f"company {changes.name!r} already exists")
        values["name"] = changes.name
    if changes.domain_given:
        values["domain"] = changes.domain
    if changes.attributes:
        values["attributes"] = merge_attributes(current["attributes"], changes.attributes)
    if values:
        conn.execute(
            update(companies)
            .where(companies.c.account_id == account_id, companies.c.id == company_id)
            .values(updated_at=now, **values)
        )
    return read_company(conn, account_id, company_id)


def delete_company(conn: Connection, account_id: int, company_id: int) -> None:
    """Delete a company; its people stay, without it (FK cascade on the links)."""
    done = conn.execute(
        delete(companies).where(companies.c.account_id == account_id, companies.c.id == company_id)
    )
    if done.rowcount == 0:
        raise NotFound(f"company {company_id} does not exist")


def find_companies(conn: Connection, account_id: int, names: Iterable[str]) -> dict[str, int]:
    """name -> company id, for the names that exist."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for row in conn.execute(
            select(companies.c.name, companies.c.id).where(
                companies.c.account_id == account_id, companies.c.name.in_(chunk)
            )
        ):
            found[row.name] = row.id
    return found
