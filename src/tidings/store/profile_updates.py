"""What `update_profile` writes of one person (engine/profile.py decides what): their
attributes and standard fields, and their tags, in the batch's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tidings.store.dialect import dialect_of_conn, insert_ignore
from tidings.store.tables import people, person_tags
from tidings.store.tags import ensure_tags, find_tags


def read_profile(conn: Connection, person_id: int) -> tuple[int, dict[str, Any]] | None:
    """The person's account and custom attributes; None when the person is gone."""
    row = conn.execute(
        select(people.c.account_id, people.c.attributes).where(people.c.id == person_id)
    ).one_or_none()
    return None if row is None else (int(row.account_id), dict(row.attributes or {}))


def write_profile(
    conn: Connection,
    person_id: int,
    *,
    attributes: dict[str, Any],
    columns: dict[str, Any],
    now: int,
) -> None:
    """Set the custom attributes (all of them) and the standard `columns` given."""
    conn.execute(
        update(people)
        .where(people.c.id == person_id)
        .values(attributes=attributes, updated_at=now, **columns)
    )


def tag_person(
    conn: Connection, account_id: int, person_id: int, names: Iterable[str], now: int
) -> None:
    """Give the person these tags (created when new); tags they have stay."""
    ids = ensure_tags(conn, account_id, list(names), now)
    conn.execute(
        insert_ignore(dialect_of_conn(conn), person_tags),
        [{"account_id": account_id, "person_id": person_id, "tag_id": i} for i in ids.values()],
    )


def untag_person(conn: Connection, account_id: int, person_id: int, names: Iterable[str]) -> None:
    """Take these tags off the person (names that are no tag are ignored)."""
    gone = find_tags(conn, account_id, list(names))
    if gone:
        conn.execute(
            delete(person_tags).where(
                person_tags.c.person_id == person_id,
                person_tags.c.tag_id.in_(list(gone.values())),
            )
        )
