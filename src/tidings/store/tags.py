"""Tags: an account's labels for people, with how many people carry each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, NotFound
from tidings.store.tables import person_tags, tags

CHUNK = 500


def _tag_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "peopleCount": row.people_count,
        "createdAt": format_micros(row.created_at),
    }


def _with_counts() -> Any:
    people_count = (
        select(func.count())
        .where(person_tags.c.account_id == tags.c.account_id, person_tags.c.tag_id == tags.c.id)
        .scalar_subquery()
        .label("people_count")
    )
    return select(tags.c.id, tags.c.name, tags.c.created_at, people_count)


def _name_taken(conn: Connection, account_id: int, name: str, but: int | None = None) -> bool:
    query = select(tags.c.id).where(tags.c.account_id == account_id, tags.c.name == name)
    if but is not None:
        query = query.where(tags.c.id != but)
    return conn.execute(query).first() is not None


def create_tag(conn: Connection, account_id: int, *, name: str, now: int) -> dict[str, Any]:
    if _name_taken(conn, account_id, name):
        raise Conflict(f"tag {name!r} already exists")
    tag_id = conn.execute(
        insert(tags).values(account_id=account_id, name=name, created_at=now).returning(tags.c.id)
    ).scalar_one()
    return read_tag(conn, account_id, tag_id)


def read_tag(conn: Connection, account_id: int, tag_id: int) -> dict[str, Any]:
    row = conn.execute(
        _with_counts().where(tags.c.account_id == account_id, tags.c.id == tag_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"tag {tag_id} does not exist")
    return _tag_row(row)


def list_tags(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Tags by name, `limit + 1` of them (the extra one tells the page there is more)."""
    rows = conn.execute(
        _with_counts()
        .where(tags.c.account_id == account_id)
        .order_by(tags.c.name, tags.c.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return [_tag_row(r) for r in rows]


def update_tag(conn: Connection, account_id: int, tag_id: int, *, name: str) -> dict[str, Any]:
    """Rename a tag; the people who carry it keep it under the new name."""
    read_tag(conn, account_id, tag_id)
    if _name_taken(conn, account_id, name, but=tag_id):
        raise Conflict(f"tag {name!r} already exists")
    conn.execute(
        update(tags).where(tags.c.account_id == account_id, tags.c.id == tag_id).values(name=name)
    )
    return read_tag(conn, account_id, tag_id)


def delete_tag(conn: Connection, account_id: int, tag_id: int) -> None:
    """Delete a tag; it is taken off every person who carried it (FK cascade)."""
    done = conn.execute(delete(tags).where(tags.c.account_id == account_id, tags.c.id == tag_id))
    if done.rowcount == 0:
        raise NotFound(f"tag {tag_id} does not exist")


def find_tags(conn: Connection, account_id: int, names: Iterable[str]) -> dict[str, int]:
    """name -> tag id, for the names that exist."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for row in conn.execute(
            select(tags.c.name, tags.c.id).where(
                tags.c.account_id == account_id, tags.c.name.in_(chunk)
            )
        ):
            found[row.name] = row.id
    return found


def ensure_tags(
    conn: Connection, account_id: int, names: Iterable[str], now: int
) -> dict[str, int]:
    """name -> tag id for all of `names`, creating the missing tags in one statement.
    Must run in the writer, so two requests never create the same tag twice."""
    wanted = list(dict.fromkeys(names))
    found = find_tags(conn, account_id, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        conn.execute(
            insert(tags),
            [{"account_id": account_id, "name": n, "created_at": now} for n in missing],
        )
        found.update(find_tags(conn, account_id, missing))
    return found
