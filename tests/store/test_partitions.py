"""A person's partition is person_id % P (participations and the outbox have no partition
column): the engine's reads of owned partitions compute it, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.bootstrap import Tidings
from tidings.store import timers
from tidings.store.tables import WAITING


class _Undo(Exception):
    """Raised to roll a test's writes back."""


def test_due_timers_of_owned_partitions_are_those_of_their_people(system: Tidings) -> None:
    json = "CAST('{}' AS JSONB)" if system.db.dialect == "postgresql" else "'{}'"
    partitions, owned = 4, frozenset({1, 3})
    seen: dict[str, list[int]] = {}

    def write(conn: Any) -> None:
        account = conn.exec_driver_sql(
            "INSERT INTO accounts (name, timezone, allow_private_urls, created_at) "
            "VALUES ('partitions', 'UTC', false, 0) RETURNING id"
        ).scalar_one()
        flow = conn.exec_driver_sql(
            "INSERT INTO flows (account_id, name, status, created_at, updated_at) "
            f"VALUES ({account}, 'f', 'active', 0, 0) RETURNING id"
        ).scalar_one()
        people = [
            conn.exec_driver_sql(
                "INSERT INTO people (account_id, attributes, created_at, updated_at) "
                f"VALUES ({account}, {json}, 0, 0) RETURNING id"
            ).scalar_one()
            for _ in range(12)
        ]
        for person in people:
            conn.exec_driver_sql(
                "INSERT INTO participations (account_id, flow_id, version, person_id, phase, "
                f"element, wake_at, entered_at) VALUES ({account}, {flow}, 1, {person}, "
                f"{WAITING}, 'w', -1, 0)"  # due before anything another test left
            )
        seen["all"] = sorted(people)
        rows = timers.due_timers(conn, -1, 1000, owned, partitions=partitions)
        seen["owned"] = sorted(r.person_id for r in rows)
        none = timers.due_timers(conn, -1, 1000, frozenset(), partitions=partitions)
        seen["none"] = [r.person_id for r in none]
        raise _Undo

    with pytest.raises(_Undo):
        system.db.write(write)
    assert seen["owned"] == [p for p in seen["all"] if p % partitions in owned]
    assert seen["none"] == []
