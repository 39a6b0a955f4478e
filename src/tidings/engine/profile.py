"""`update_profile` effects applied to People, in the batch's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tidings.domain.journey import UpdateProfile
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.store.dialect import dialect_of, insert_ignore
from tidings.store.tables import people, person_tags
from tidings.store.tags import ensure_tags, find_tags


def apply_profile_updates(
    conn: Connection, updates: Mapping[int, Sequence[UpdateProfile]], *, now: int
) -> None:
    dialect = dialect_of(conn.engine.url.drivername)
    for person_id, effects in updates.items():
        row = conn.execute(
            select(people.c.account_id, people.c.attributes).where(people.c.id == person_id)
        ).one_or_none()
        if row is None:
            continue
        account_id = row.account_id
        attributes: dict[str, Any] = dict(row.attributes or {})
        columns: dict[str, Any] = {}
        add: list[str] = []
        remove: list[str] = []
        for effect in effects:
            for name, value in effect.set.items():
                column = STANDARD_ATTRIBUTES.get(name)
                if column is not None:
                    columns[column] = value
                elif value is None:
                    attributes.pop(name, None)
                else:
                    attributes[name] = value
            add += [t for t in effect.add_tags if t not in remove]
            remove += list(effect.remove_tags)
            add = [t for t in add if t not in effect.remove_tags]
        conn.execute(
            update(people)
            .where(people.c.id == person_id)
            .values(attributes=attributes, updated_at=now, **columns)
        )
        if add:
            ids = ensure_tags(conn, account_id, add, now)
            conn.execute(
                insert_ignore(dialect, person_tags),
                [
                    {"account_id": account_id, "person_id": person_id, "tag_id": i}
                    for i in ids.values()
                ],
            )
        if remove:
            gone = find_tags(conn, account_id, remove)
            if gone:
                conn.execute(
                    delete(person_tags).where(
                        person_tags.c.person_id == person_id,
                        person_tags.c.tag_id.in_(list(gone.values())),
                    )
                )
