"""What steps count: flow counters, unique visits, the flow figures by hour, and the
flows' last activity (the "run for 1 year" rule counts from it).

Counters (`flow_counters`, keyed flow, version, element, name) are added to in the
transaction of the step that counts, so they are exact after any crash; the performance
answer reads them and nothing else (store/performance.py).

People are counted once. `people.profilesInFlow` of a version (and of version 0: all
versions) is added to at a person's first entry into it, which the engine knows from the
history it reads for the entry rules (the set-based paths take only people never in the
flow). The rest through `element_visits`, a row per (flow, version, element, person)
inserted if absent: each row really inserted adds one to a counter. An element's rows
count its `uniqueEngagements` in the version; the pseudo-elements `#activeProfiles` and
`#goalPerformers` count the flow's `people.*` (a person's first engagement, goal).
Those are kept twice, for their version and for version 0 (all versions), since people
who took part in two versions are one person over all. An element's visits are not: a
second row for every visit cost a fifth of the engine's time on event entries (`tidings
bench events`), so over all versions an element's unique engagements are the sum of its
versions'.

The flow-level counters of `SERIES` are also added to `flow_series` under the UTC hour of
the step (`hour`: hours since the epoch), so a series by hour or day reads a few rows a
day (store/performance.py turns hours into the flow's zone).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.store.dialect import dialect_of_conn, ids_in, insert_values, param

CHUNK = 2000  # participation ids a statement lists
HOUR = 3_600_000_000  # micros
# The people counted once as pseudo-elements of the visits, and their flow counters (a
# first entry needs no row: the engine counts it from the person's history in the flow,
# which it reads for the entry rules anyway).
PEOPLE_ONCE = ("activeProfiles", "goalPerformers")
PSEUDO = {f"#{name}": f"people.{name}" for name in PEOPLE_ONCE}
# Flow-level counters that are also kept by hour.
SERIES = frozenset(
    {
        "profilesExited",
        "messagesSent",
        "trafficCostMicros",
        "goalValueMicros",
        "sendsDeferred",
        "sendsDropped",
        "people.profilesInFlow",
        *PSEUDO.values(),
    }
)

Counters = Mapping[tuple[int, int, int, str, str], int]
# A channel's figures are flow-level counters named `channel.{channel}.{figure}`.
CHANNEL_FIGURES = ("sent", "delivered", "failed", "seen", "clicked", "parts", "costMicros")
# The message events that count as a channel's figure (their properties name the flow,
# version and channel: engine/sending.py report_items).
REPORTED = {f"message.{f}": f for f in ("delivered", "failed", "seen", "clicked")}


def channel_counter(
    account: int, flow: int, version: int, channel: str, figure: str
) -> tuple[int, int, int, str, str]:
    return (account, flow, version, "", f"channel.{channel}.{figure}")


def count_reports(conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
    """The channel figures of the message reports among events about to be written
    (`EventRow`s: account, person, name, properties JSON, time, received): only the
    engine's own, whose properties it built from the message's outbox row."""
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for row in rows:
        figure = REPORTED.get(row[2])
        if figure is None:
            continue
        properties = orjson.loads(row[3])
        flow, channel = properties.get("flow"), properties.get("channel")
        if isinstance(flow, int) and isinstance(channel, str) and channel:
            version = properties.get("version")
            where = (row[0], flow, version if isinstance(version, int) else 0, channel)
            counters[channel_counter(*where, figure)] += 1
    add_counters(conn, counters)


def add_counters(conn: Connection, counters: Counters, at: int | None = None) -> None:
    """Add to the counters, keyed (account, flow, version, element, name); zeros are
    left out. With `at` (micros), the flow-level ones of `SERIES` are also added to the
    hour of `at`."""
    p = param(dialect_of_conn(conn))
    rows = [(*key, value) for key, value in counters.items() if value]
    if not rows:
        return
    insert_values(  # one row a key (a dict's): PostgreSQL updates a row once a statement
        conn,
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value)",
        f"{p}, {p}, {p}, {p}, {p}, {p}",
        rows,
        "ON CONFLICT (flow_id, version, element, name) "
        "DO UPDATE SET value = flow_counters.value + excluded.value",
    )
    if at is not None:
        add_series(conn, counters, at)


def add_series(conn: Connection, counters: Counters, at: int) -> None:
    """The flow-level counters of `SERIES` in `counters`, added to the hour of `at`."""
    hour = at // HOUR
    p = param(dialect_of_conn(conn))
    rows = [
        (account, flow, version, hour, name, value)
        for (account, flow, version, element, name), value in counters.items()
        if value and not element and name in SERIES
    ]
    insert_values(
        conn,
        "INSERT INTO flow_series (account_id, flow_id, version, hour, name, value)",
        f"{p}, {p}, {p}, {p}, {p}, {p}",
        rows,
        "ON CONFLICT (flow_id, version, hour, name) "
        "DO UPDATE SET value = flow_series.value + excluded.value",
    )


def _count_new(
    conn: Connection, new: Mapping[tuple[int, int, int, str], int], at: int | None
) -> None:
    """Counters of visits really inserted: how many, by (account, flow, version, element)."""
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for (account, flow, version, element), n in new.items():
        name = PSEUDO.get(element)
        if name is None:
            counters[(account, flow, version, element, "uniqueEngagements")] += n
        else:
            counters[(account, flow, version, "", name)] += n
    add_counters(conn, counters, at)


def _with_all(
    visit: tuple[int, int, int, str, int],
) -> tuple[tuple[int, int, int, str, int], ...]:
    """A visit, and for a person counted once its all-versions twin (version 0)."""
    if visit[3] in PSEUDO:
        return (visit, (visit[0], visit[1], 0, visit[3], visit[4]))
    return (visit,)


def add_visits(
    conn: Connection, visits: Iterable[tuple[int, int, int, str, int]], at: int | None = None
) -> None:
    """Unique visits (account, flow, version, element, person), people counted once also
    for all versions; those kept already stay. The new ones add to their counters."""
    p = param(dialect_of_conn(conn))
    rows = sorted(
        {v for visit in visits for v in _with_all(visit)}  # people once: version 0 too
    )
    head = "INSERT INTO element_visits (account_id, flow_id, version, element, person_id)"
    one = f"({p}, {p}, {p}, {p}, {p})"
    new: Counter[tuple[int, int, int, str]] = Counter()
    step = 1000
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        new.update(
            tuple(row)
            for row in conn.exec_driver_sql(
                f"{head} VALUES {', '.join([one] * len(chunk))} ON CONFLICT DO NOTHING "
                "RETURNING account_id, flow_id, version, element",
                tuple(v for row in chunk for v in row),
            )
        )
    _count_new(conn, new, at)


def add_visits_of(
    conn: Connection,
    where: tuple[int, int, int],
    ids: Sequence[int],
    elements: Sequence[str],
    at: int | None = None,
) -> None:
    """Unique visits of `elements` by the people of the participations `ids`, all of
    `where` (account, flow, version), taken from the rows themselves; people counted once
    also for all versions. The new ones add to their counters: a statement an element,
    whose row count says how many were new (fetching the new rows back cost more)."""
    if not ids or not elements:
        return
    p = param(dialect_of_conn(conn))
    account, flow, version = where
    new: Counter[tuple[int, int, int, str]] = Counter()
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("p.id", ids[start : start + CHUNK])
        for element in elements:
            # people once (a pseudo-element): version 0 too
            for kept in (version, 0) if element in PSEUDO else (version,):
                inserted = conn.exec_driver_sql(
                    "INSERT INTO element_visits (account_id, flow_id, version, element, "
                    f"person_id) SELECT p.account_id, p.flow_id, {int(kept)}, {p}, p.person_id "
                    f"FROM participations p WHERE {listed} ON CONFLICT DO NOTHING",
                    (element,),
                ).rowcount
                new[(account, flow, kept, element)] += max(inserted, 0)
    _count_new(conn, new, at)


def mark_active(conn: Connection, flow_ids: Sequence[int], at: int) -> None:
    """An element of these flows fired at `at`."""
    if not flow_ids:
        return
    p = param(dialect_of_conn(conn))
    conn.exec_driver_sql(
        f"UPDATE flows SET last_activity_at = {p} WHERE id IN ({', '.join([p] * len(flow_ids))})",
        (at, *flow_ids),
    )
