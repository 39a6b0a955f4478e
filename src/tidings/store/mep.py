"""Monthly engaged persons (DESIGN.md, "MEP"): the roll-up written with each flow entry,
and its reads (GET /mep, the MEP report).

A person who enters at least one flow in a calendar month of the account's zone is one
engaged person of that month, once. Each entry's transaction inserts the person's
`engaged_people` row of that month if it is absent (the first entry's instant, flow and
version) and adds the rows really inserted to `engaged_counts` by (account, month, flow):
a month of millions reads a few counter rows. Messages sent outside flows write nothing
here. Entries are written by the per-person path (`store/changes.write_changes`:
`add_entries`) and by the set-based one (`engine/bulk/moves.record`: `add_entered`), one
statement or two per batch, never one per person. On PostgreSQL each write adds to
`engaged_counts` after `flow_counters` (and in key order), so concurrent workers take
the counter rows' locks in one order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from tidings.domain.durations import format_micros
from tidings.domain.months import month_of, month_span
from tidings.store.dialect import (
    VALUES_ROWS,
    dialect_of_conn,
    ids_in,
    insert_values,
    param,
)
from tidings.store.participations import Row
from tidings.store.raw import fetch, stream

CHUNK = 2000  # participation ids an INSERT ... SELECT lists

# The MEP report's columns, exactly the guide's.
REPORT_COLUMNS = ("Person ID", "Engaged At", "Billed At", "Campaign ID", "Campaign Name")


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _zones(conn: Connection, account_ids: Collection[int]) -> dict[int, ZoneInfo]:
    """The accounts' time zones, read in the entry's own transaction (a zone changed by
    PATCH /account counts from its commit on)."""
    listed = ", ".join(str(int(a)) for a in sorted(account_ids))
    rows = fetch(conn, f"SELECT id, timezone FROM accounts WHERE id IN ({listed})")
    return {int(account_id): _zone(zone) for account_id, zone in rows}


def add_entries(conn: Connection, rows: Sequence[Row]) -> None:
    """Engage the people of these new participations (a batch's entries) in the month of
    their entry: one INSERT (per 1,000 people), its RETURNING counted by flow."""
    if not rows:
        return
    zones = _zones(conn, {r.account_id for r in rows})
    spans: dict[int, tuple[int, int, int]] = {}  # account -> a month's start, end, month
    first: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for r in rows:
        span = spans.get(r.account_id)
        if span is None or not span[0] <= r.entered_at < span[1]:
            month = month_of(r.entered_at, zones[r.account_id])
            start, end = month_span(month, zones[r.account_id])
            span = spans[r.account_id] = (start, end, month)
        key = (r.account_id, span[2], r.person_id)
        known = first.get(key)
        if known is None or r.entered_at < known[0]:
            first[key] = (r.entered_at, r.flow_id, r.version)
    values = [(*key, *first[key]) for key in sorted(first)]
    p = param(dialect_of_conn(conn))
    one = f"({p}, {p}, {p}, {p}, {p}, {p})"
    inserted: dict[tuple[int, int, int], int] = defaultdict(int)
    for start in range(0, len(values), VALUES_ROWS):
        chunk = values[start : start + VALUES_ROWS]
        for account_id, month, flow_id in fetch(
            conn,
            "INSERT INTO engaged_people (account_id, month, person_id, engaged_at, flow_id, "
            f"version) VALUES {', '.join([one] * len(chunk))} "
            "ON CONFLICT DO NOTHING RETURNING account_id, month, flow_id",
            [v for row in chunk for v in row],
        ):
            inserted[(int(account_id), int(month), int(flow_id))] += 1
    _add_counts(conn, inserted)


def add_entered(
    conn: Connection, account_id: int, flow_id: int, ids: Sequence[int], at: int
) -> None:
    """Engage the people of the participations `ids` that entered the account's flow at
    `at`, set-based: the rows are taken from the participations themselves (as
    `counts.add_visits_of`)."""
    if not ids:
        return
    month = month_of(at, _zones(conn, (account_id,))[account_id])
    inserted = 0
    for start in range(0, len(ids), CHUNK):
        result = conn.exec_driver_sql(
            "INSERT INTO engaged_people (account_id, month, person_id, engaged_at, flow_id, "
            f"version) SELECT account_id, {int(month)}, person_id, entered_at, flow_id, "
            f"version FROM participations WHERE {ids_in('id', ids[start : start + CHUNK])} "
            "ORDER BY person_id ON CONFLICT DO NOTHING"
        )
        inserted += max(result.rowcount, 0)
    _add_counts(conn, {(account_id, month, flow_id): inserted})


def _add_counts(conn: Connection, counts: dict[tuple[int, int, int], int]) -> None:
    """Add to `engaged_counts`, keyed (account, month, flow), in key order (concurrent
    writers on PostgreSQL lock the rows in one order); zeros are left out."""
    p = param(dialect_of_conn(conn))
    insert_values(
        conn,
        "INSERT INTO engaged_counts (account_id, month, flow_id, engaged)",
        f"{p}, {p}, {p}, {p}",
        [(*key, value) for key, value in sorted(counts.items()) if value],
        "ON CONFLICT (account_id, month, flow_id) "
        "DO UPDATE SET engaged = engaged_counts.engaged + excluded.engaged",
    )


# --- reads -----------------------------------------------------------------------------


def _accounts_in(account_ids: Collection[int]) -> str:
    return ", ".join(str(int(a)) for a in sorted(set(account_ids))) or "NULL"


def month_totals(conn: Connection, account_ids: Collection[int], month: int) -> dict[int, int]:
    """Engaged persons of `month` by account (those with none are left out)."""
    p = param(dialect_of_conn(conn))
    rows = fetch(
        conn,
        "SELECT account_id, SUM(engaged) FROM engaged_counts "
        f"WHERE account_id IN ({_accounts_in(account_ids)}) AND month = {p} "
        "GROUP BY account_id",
        (month,),
    )
    return {int(a): int(total) for a, total in rows}


def top_flows(
    conn: Connection, account_ids: Collection[int], month: int, limit: int = 10
) -> list[tuple[int, str | None, int]]:
    """The `limit` flows that engaged the most people in `month` (each person counted
    for the flow of their first entry that month), as (flow, name, total), the largest
    first; a deleted flow keeps its count without a name."""
    p = param(dialect_of_conn(conn))
    rows = fetch(
        conn,
        "SELECT c.flow_id, f.name, SUM(c.engaged) AS total FROM engaged_counts c "
        "LEFT JOIN flows f ON f.id = c.flow_id AND f.account_id = c.account_id "
        f"WHERE c.account_id IN ({_accounts_in(account_ids)}) AND c.month = {p} "
        f"GROUP BY c.flow_id, f.name ORDER BY total DESC, c.flow_id LIMIT {int(limit)}",
        (month,),
    )
    return [(int(flow_id), name, int(total)) for flow_id, name, total in rows]


def report_rows(
    conn: Connection, account_ids: Collection[int], month: int, *, size: int = 2000
) -> Iterator[tuple[Any, ...]]:
    """The MEP report of `month` over these accounts, one row per person and account
    (`REPORT_COLUMNS`, the header not included): the person's `externalId` (else their
    id), the first entry's instant, the start of the month in the account's zone (when
    it is billed), and the flow of that first entry, its id and name. Streamed `size`
    rows at a time (a server-side cursor on PostgreSQL, fetchmany on SQLite): memory
    does not grow with the month; read it inside the transaction of `conn`."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return
    billed = {
        account_id: format_micros(month_span(month, zone)[0])
        for account_id, zone in _zones(conn, wanted).items()
    }
    p = param(dialect_of_conn(conn))
    for rows in stream(
        conn,
        "SELECT e.account_id, e.person_id, pe.external_id, e.engaged_at, e.flow_id, f.name "
        "FROM engaged_people e "
        "LEFT JOIN people pe ON pe.id = e.person_id AND pe.account_id = e.account_id "
        "LEFT JOIN flows f ON f.id = e.flow_id AND f.account_id = e.account_id "
        f"WHERE e.account_id IN ({_accounts_in(wanted)}) AND e.month = {p} "
        "ORDER BY e.account_id, e.person_id",
        (month,),
        size,
    ):
        for account_id, person_id, external_id, engaged_at, flow_id, name in rows:
            yield (
                external_id if external_id is not None else str(person_id),
                format_micros(engaged_at),
                billed[account_id],
                flow_id,
                name,
            )
