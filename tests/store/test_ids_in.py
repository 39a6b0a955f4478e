"""`ids_in` selects exactly the ids it is given: a range only when they have no gap."""

from __future__ import annotations

import sqlite3

import pytest

from tidings.store.dialect import ids_in


@pytest.mark.parametrize(
    "ids",
    [
        [5],
        [3, 4, 5, 6],
        [6, 4, 5, 3],
        [3, 3, 4, 5],
        [1, 2, 4],
        [2, 9, 7],
        [10, 8, 8, 9],
        [*range(1, 40), 45, 47, *range(50, 70)],
        [*range(60, 40, -1), 3],
    ],
)
def test_the_rows_selected_are_exactly_the_ids_given(ids: list[int]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1, 100)])
    found = [r[0] for r in conn.execute(f"SELECT id FROM t WHERE {ids_in('id', ids)} ORDER BY id")]
    assert found == sorted(set(ids))


def test_ids_without_a_gap_are_a_range_and_others_a_list() -> None:
    assert ids_in("o.id", range(20, 4, -1)) == "o.id BETWEEN 5 AND 20"
    assert ids_in("o.id", [5, 7, 8]) == "o.id IN (5, 7, 8)"


def test_runs_are_ranges_and_the_rest_a_list() -> None:
    run = list(range(100, 120))
    assert ids_in("id", [*run, 3, 7]) == "(id BETWEEN 100 AND 119 OR id IN (3, 7))"
    assert ids_in("id", [*run, *range(200, 230)]) == (
        "(id BETWEEN 100 AND 119 OR id BETWEEN 200 AND 229)"
    )
