"""What steps count: flow counters, unique element visits, and the flows' last activity
(the "run for 1 year" rule counts from it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection

from tidings.store.dialect import dialect_of_conn, ids_in, insert_values, param

CHUNK = 2000  # participation ids a statement lists


def add_counters(conn: Connection, counters: dict[tuple[int, int, int, str, str], int]) -> None:
    """Add to the counters, keyed (account, flow, version, element, name); zeros are
    left out."""
    p = param(dialect_of_conn(conn))
    insert_values(  # one row a key (a dict's): PostgreSQL updates a row once a statement
        conn,
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value)",
        f"{p}, {p}, {p}, {p}, {p}, {p}",
        [(*key, value) for key, value in counters.items() if value],
        "ON CONFLICT (flow_id, version, element, name) "
        "DO UPDATE SET value = flow_counters.value + excluded.value",
    )


def add_visits(conn: Connection, visits: Iterable[tuple[int, int, int, str, int]]) -> None:
    """Unique visits (account, flow, version, element, person); those kept already stay."""
    p = param(dialect_of_conn(conn))
    insert_values(
        conn,
        "INSERT INTO element_visits (account_id, flow_id, version, element, person_id)",
        f"{p}, {p}, {p}, {p}, {p}",
        sorted(visits),
        "ON CONFLICT DO NOTHING",
    )


def add_visits_of(conn: Connection, ids: Sequence[int], elements: Sequence[str]) -> None:
    """Unique visits of `elements` by the people of the participations `ids`, taken from
    the rows themselves: every element in one statement (VALUES' column1)."""
    if not ids or not elements:
        return
    p = param(dialect_of_conn(conn))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.exec_driver_sql(
            "INSERT INTO element_visits (account_id, flow_id, version, element, person_id) "
            "SELECT p.account_id, p.flow_id, p.version, e.column1, p.person_id "
            f"FROM participations p CROSS JOIN (VALUES {', '.join([f'({p})'] * len(elements))}) "
            f"AS e WHERE {ids_in('p.id', chunk)} ON CONFLICT DO NOTHING",
            tuple(elements),
        )


def mark_active(conn: Connection, flow_ids: Sequence[int], at: int) -> None:
    """An element of these flows fired at `at`."""
    if not flow_ids:
        return
    p = param(dialect_of_conn(conn))
    conn.exec_driver_sql(
        f"UPDATE flows SET last_activity_at = {p} WHERE id IN ({', '.join([p] * len(flow_ids))})",
        (at, *flow_ids),
    )
