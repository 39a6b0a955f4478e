"""`update_profile` effects applied to People, in the batch's transaction (what to write
is decided here; `store/profile_updates.py` writes it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.domain.journey import UpdateProfile
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.store.profile_updates import read_profile, tag_person, untag_person, write_profile


def apply_profile_updates(
    conn: Connection, updates: Mapping[int, Sequence[UpdateProfile]], *, now: int
) -> None:
    for person_id, effects in updates.items():
        found = read_profile(conn, person_id)
        if found is None:
            continue
        account_id, attributes = found
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
        write_profile(conn, person_id, attributes=attributes, columns=columns, now=now)
        if add:
            tag_person(conn, account_id, person_id, add, now)
        if remove:
            untag_person(conn, account_id, person_id, remove)
