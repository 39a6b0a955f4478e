"""The inbox: stimuli queued for the engine (events, entries, results, cancels), read in
order of when they are due, and audience entries queued in bundles.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.store.dialect import (
    Dialect,
    dialect_of_conn,
    json_param,
    param,
)
from tidings.store.raw import fetch, partition_sql, stream

INBOX_PAGE = 250  # inbox rows fetched at a time (a row may be a bundle of 2,000 people)


# An audience entry is queued as bundles, not a row a person: an `enter` row whose payload
# is {"people": [person ids]} (of one partition; `person_id` is the first) stands for the
# plain entry of each of them, in that order (store/audience.py). Readers see one
# `InboxItem` a person (`bundled`, sharing the row's id); consuming some of them takes
# them out of the row, which goes with its last (`Changes.consume`).
BUNDLE = "people"


@dataclass
class InboxItem:
    id: int
    account_id: int
    partition: int
    person_id: int
    kind: str
    flow_id: int | None
    version: int | None
    participation_id: int | None
    payload: dict[str, Any]
    due_at: int
    bundled: bool = False  # one of a bundle's people: `id` is the bundle's row


def due_inbox(
    conn: Connection, now: int, limit: int, owned: frozenset[int] | None = None
) -> list[InboxItem]:
    """Due stimuli in order, up to `limit` (a bundle counts a stimulus a person). Raw SQL
    and orjson: at ingest rates this read is hot. The rows are fetched a few at a time
    (`stream`): `limit` rows of bundles would be `limit` times 2,000 people."""
    p = param(dialect_of_conn(conn))
    sql = (
        "SELECT id, account_id, partition, person_id, kind, flow_id, version, "
        f"participation_id, payload, due_at FROM inbox WHERE due_at <= {p}"
        f"{partition_sql(owned)} ORDER BY due_at, id LIMIT {int(limit)}"
    )
    items: list[InboxItem] = []
    with closing(stream(conn, sql, (now,), INBOX_PAGE)) as pages:  # closed when we stop
        for rows in pages:
            for r in rows:
                payload = orjson.loads(r[8]) if isinstance(r[8], str | bytes) else r[8]
                if r[4] == "enter" and BUNDLE in payload:
                    account, part, flow, due = r[1], r[2], r[5], r[9]
                    items += [
                        InboxItem(
                            r[0], account, part, person, "enter", flow, None, None, {}, due, True
                        )
                        for person in payload[BUNDLE][: limit - len(items)]
                    ]
                else:
                    items.append(
                        InboxItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], payload, r[9])
                    )
                if len(items) >= limit:
                    return items
    return items


def take_from_bundles(conn: Connection, dialect: Dialect, taken: dict[int, list[int]]) -> list[int]:
    """Take people out of their bundles (`Changes.consumed_bundled`): the others keep the
    rest, in order; answer the bundles left with nobody, for the caller to delete."""
    p, j = param(dialect), json_param(dialect)
    ids = sorted(taken)
    rows = fetch(
        conn, f"SELECT id, payload FROM inbox WHERE id IN ({', '.join([p] * len(ids))})", ids
    )
    gone: list[int] = []
    kept: list[tuple[int, str, int]] = []
    for row_id, raw in rows:
        payload = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
        out = set(taken[row_id])
        left = [person for person in payload[BUNDLE] if person not in out]
        if left:
            kept.append((left[0], orjson.dumps({BUNDLE: left}).decode(), row_id))
        else:
            gone.append(row_id)
    if kept:
        conn.exec_driver_sql(
            f"UPDATE inbox SET person_id = {p}, payload = {j} WHERE id = {p}", kept
        )
    return gone


def first_due(conn: Connection, now: int, owned: frozenset[int] | None = None) -> int | None:
    """When the inbox's first stimulus due at `now` or before is due (None: none is)."""
    p = param(dialect_of_conn(conn))
    head = fetch(
        conn,
        f"SELECT due_at FROM inbox WHERE due_at <= {p}{partition_sql(owned)} "
        "ORDER BY due_at, id LIMIT 1",
        (now,),
    )
    return int(head[0][0]) if head else None
