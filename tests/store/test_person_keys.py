"""Every per-person table carries the person in its primary key, so that it can be
distributed by person (Citus, `docs/scale-out.md`): a table with a `person_id` column is
per-person; `people` is the person itself (its `id`).

The tables that break the rule are named below, each with its reason; docs/scale-out.md
says how each gets `(person_id, id)` as its key on a distributed PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Table, inspect

from tidings.bootstrap import Tidings
from tidings.store.tables import metadata, people

# Logs keyed by their own id. Their ids are the order things happened in and what the
# engine and the API read them by (id ranges, `ids_in`; a sandbox message's id is its outbox
# row's), and on SQLite an ever-increasing id (AUTOINCREMENT) needs a one-column integer
# key: a composite key there would drop the rowid alias and rebuild the busiest tables.
# On a distributed PostgreSQL their key becomes (person_id, id) with the id still from its
# sequence (docs/scale-out.md, "Keys"): a change of the PostgreSQL schema only.
KEYED_BY_THEIR_OWN_ID = {
    "events": "the event log: read by person and time, pruned and paged by id",
    "participations": "ids reserved per batch from the sequence; uq_participations_history "
    "already leads with (flow_id, person_id)",
    "inbox": "consumed by id (a bundle row stands for up to 2,000 people of one partition)",
    "outbox": "its id is the message id a provider sees (and the Idempotency-Key of calls)",
    "sandbox_messages": "its id is the outbox id, so a retried send is stored once",
    "journey_steps": "the trace, pruned in id order (store/traces.prune)",
}


def per_person() -> list[Table]:
    return [t for t in metadata.sorted_tables if "person_id" in t.c]


def test_every_per_person_table_has_the_person_in_its_primary_key() -> None:
    missing = {
        t.name for t in per_person() if "person_id" not in {c.name for c in t.primary_key.columns}
    }
    assert missing == set(KEYED_BY_THEIR_OWN_ID), (
        "a per-person table without person_id in its primary key must be allow-listed with "
        "a reason (or keyed by the person); one allow-listed that now has it must leave the list"
    )


def test_the_person_table_is_keyed_by_the_person() -> None:
    assert [c.name for c in people.primary_key.columns] == ["id"]


def test_the_allow_list_names_only_per_person_tables() -> None:
    assert set(KEYED_BY_THEIR_OWN_ID) <= {t.name for t in per_person()}


@pytest.mark.parametrize("table", per_person(), ids=lambda t: t.name)
def test_the_migrated_keys_are_the_tables_keys(system: Tidings, table: Table) -> None:
    """On both databases, the primary key the migrations built is the metadata's."""
    with system.db.engine.connect() as conn:
        built = inspect(conn).get_pk_constraint(table.name)["constrained_columns"]
    assert built == [c.name for c in table.primary_key.columns]
