"""Resolving people by `externalId` in bulk, creating the unknown ones (as Braze does)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from tidings.store.dialect import dialect_of, insert_ignore, param
from tidings.store.tables import people

CHUNK = 500


def find_people(conn: Connection, account_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    """externalId -> person id, for those that exist.

    Hot path (every event names its person): raw driver SQL, since compiling a Core
    `IN` of a new length each time costs more than the query itself.
    """
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    p = param(dialect_of(conn.engine.url.drivername))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        sql = (
            f"SELECT external_id, id FROM people WHERE account_id = {p} "
            f"AND external_id IN ({', '.join([p] * len(chunk))})"
        )
        for external_id, person_id in conn.exec_driver_sql(sql, (account_id, *chunk)):
            found[external_id] = person_id
    return found


def ensure_people(
    conn: Connection, account_id: int, external_ids: Iterable[str], now: int
) -> tuple[dict[str, int], set[str]]:
    """externalId -> person id for all of `external_ids`, creating the missing people.

    Returns the map and the set of externalIds that were created just now. Must run in
    the writer (`Database.write`) so two requests never create the same person twice.
    """
    wanted = list(dict.fromkeys(external_ids))
    found = find_people(conn, account_id, wanted)
    missing = [e for e in wanted if e not in found]
    if missing:
        # ON CONFLICT DO NOTHING: another server process may create the same person at
        # the same moment; the look-up below finds theirs.
        conn.execute(
            insert_ignore(dialect_of(conn.engine.url.drivername), people),
            [
                {
                    "account_id": account_id,
                    "external_id": e,
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for e in missing
            ],
        )
        found.update(find_people(conn, account_id, missing))
    return found, set(missing)
