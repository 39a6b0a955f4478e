"""Answers `catalog_lookup`: the `LookupCatalog` effects of one batch are read with one
bulk query per account (`store.catalogs.lookup`) and fed back as inbox `result` items,
due at once, the same stimulus a `call_api` answer is (see `api_calls.settle`).

The read happens after the batch has advanced its people and before its write, outside
the writer; the result items are written by the batch's own transaction, so a lookup
and the participation that asked for it are stored together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tidings.domain.journey import LookupCatalog
from tidings.store import catalogs
from tidings.store.database import Database
from tidings.store.participations import Row


@dataclass(frozen=True, slots=True)
class Lookup:
    """One participation's question: this key in this catalog, for this element."""

    account_id: int
    partition: int
    person_id: int
    participation_id: int
    element: str
    catalog: str
    key: str


def asked(row: Row, effect: LookupCatalog, partition: int) -> Lookup:
    return Lookup(
        row.account_id,
        partition,
        row.person_id,
        row.id,
        effect.element,
        effect.catalog,
        effect.key,
    )


def resolve(db: Database, lookups: list[Lookup], at: int) -> list[dict[str, Any]]:
    """Inbox `result` items answering `lookups` (`found` with the item, or `notFound`)."""
    if not lookups:
        return []
    wanted: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for lookup in lookups:
        wanted[lookup.account_id].add((lookup.catalog, lookup.key))
    found: dict[tuple[int, str, str], dict[str, Any]] = {}
    with db.read() as conn:
        for account_id, pairs in wanted.items():
            for (name, key), values in catalogs.lookup(conn, account_id, pairs).items():
                found[(account_id, name, key)] = values
    answers = []
    for lookup in lookups:
        item = found.get((lookup.account_id, lookup.catalog, lookup.key))
        answers.append(
            {
                "account_id": lookup.account_id,
                "partition": lookup.partition,
                "person_id": lookup.person_id,
                "kind": "result",
                "participation_id": lookup.participation_id,
                "payload": {
                    "element": lookup.element,
                    "outcome": "found" if item is not None else "notFound",
                    "data": item or {},
                },
                "due_at": at,
            }
        )
    return answers
