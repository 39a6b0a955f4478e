"""Resolving people by `externalId` in bulk, creating the unknown ones (as Braze does)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from tidings.store.dialect import binds_arrays, dialect_of_conn, insert_ignore, param
from tidings.store.tables import people

CHUNK = 500


# PostgreSQL: one probe of the unique (account_id, external_id) index for each wanted
# externalId, whatever the planner's statistics say. With `external_id IN (...)` a table
# not analyzed since it grew (a new install's first minute: autovacuum's first look comes
# after `autovacuum_naptime`) got a plan that probed the index by account alone and
# filtered every person of the account: a look-up cost O(people), in the writer, for
# every request (docs/decisions/2026-12-04-postgresql-sustained-load.md). A scalar
# subquery is planned alone, as an equality on every column of a unique index: one row.
# One statement's shape for any number of ids (an array), so it is prepared once.
_PG_FIND = (
    "SELECT w.e, (SELECT id FROM people WHERE account_id = %s AND external_id = w.e) "
    "FROM unnest(%s::text[]) AS w(e)"
)
# The missing people in one statement (not a row at a time), their ids returned.
_PG_CREATE = (
    "INSERT INTO people (account_id, external_id, attributes, created_at, updated_at) "
    "SELECT %s, w.e, NULL, %s, %s FROM unnest(%s::text[]) AS w(e) "
    "ON CONFLICT DO NOTHING RETURNING external_id, id"
)


def find_people(conn: Connection, account_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    """externalId -> person id, for those that exist.

    Hot path (every event names its person): raw driver SQL, since compiling a Core
    `IN` of a new length each time costs more than the query itself.
    """
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    dialect = dialect_of_conn(conn)
    if binds_arrays(dialect):
        if wanted:
            for external_id, person_id in conn.exec_driver_sql(_PG_FIND, (account_id, wanted)):
                if person_id is not None:
                    found[external_id] = person_id
        return found
    p = param(dialect)
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
    if missing and binds_arrays(dialect_of_conn(conn)):
        created: dict[str, int] = dict(
            conn.exec_driver_sql(_PG_CREATE, (account_id, now, now, missing)).fetchall()
        )
        found.update(created)
        if len(created) < len(missing):  # another process created some at the same moment
            found.update(find_people(conn, account_id, [e for e in missing if e not in created]))
    elif missing:
        # ON CONFLICT DO NOTHING: another server process may create the same person at
        # the same moment; the look-up below finds theirs.
        conn.execute(
            insert_ignore(dialect_of_conn(conn), people),
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
