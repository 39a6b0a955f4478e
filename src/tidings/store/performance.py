"""Flow performance, from the counters the engine commits with every step (exact after
any crash) and the hourly roll-up beside them (store/counts.py): no answer scans
participations, visits or events, so a flow of millions answers as fast as a new one.

People are counted once each: `profilesInFlow`, `activeProfiles` and `goalPerformers`
are people (over all versions, a person in two versions is one); `uniqueEngagements` the
people who reached the element in the version (over all versions, the sum of the
versions': store/counts.py says why). Goals: `goalValue` is the sum of the goal values,
kept as whole millionths in the `goalValueMicros` counter; `conversionRate` is the
entries that met the goal per entry (a person who enters twice and converts once is
0.5), four decimals. The send window's `sendsDeferred` and `sendsDropped` are given for
the flow and each element. Each element carries its `name` (null without one) from the
version's document; over all versions, from the newest version that has the element
(`element_names.py`). `channels` gives each channel's messages: sent, delivered, failed,
seen, clicked (the reports that came), parts and cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from tidings.store.counts import CHANNEL_FIGURES
from tidings.store.dialect import dialect_of_conn, param
from tidings.store.element_names import ElementNames, newest_names
from tidings.store.tables import flow_counters

FLOW_NAMES = (
    "profilesInFlow",
    "profilesExited",
    "activeProfiles",
    "goalPerformers",
    "messagesSent",
    "trafficCost",
    "sendsDeferred",
    "sendsDropped",
)
ELEMENT_NAMES = (
    "totalEngagements",
    "uniqueEngagements",
    "messagesSent",
    "sendsDeferred",
    "sendsDropped",
)
MICROS = Decimal(1_000_000)


def _cost(values: dict[str, float]) -> float:
    """`trafficCostMicros` as a number, exact to the millionth."""
    return float(Decimal(int(values.get("trafficCostMicros", 0))) / MICROS)


def people_inside(conn: Connection, account_id: int, flow_id: int, version: int) -> int:
    """Entries into the version less its exits, from its counters (exact: they are
    committed with every step): 0 once everyone who entered has left."""
    found = dict(
        conn.execute(
            select(flow_counters.c.name, func.sum(flow_counters.c.value))
            .where(
                flow_counters.c.account_id == account_id,
                flow_counters.c.flow_id == flow_id,
                flow_counters.c.version == version,
                flow_counters.c.element == "",
                flow_counters.c.name.in_(["profilesInFlow", "profilesExited"]),
            )
            .group_by(flow_counters.c.name)
        ).all()
    )
    return int(found.get("profilesInFlow") or 0) - int(found.get("profilesExited") or 0)


def _once(table: Any) -> Any:
    """Over all versions: the people counted once are version 0's rows, every other
    figure the sum of the versions' (store/counts.py)."""
    people = table.c.name.like("people.%")
    return or_(and_(people, table.c.version == 0), and_(~people, table.c.version > 0))


def performance(
    conn: Connection, account_id: int, flow_id: int, version: int | None
) -> dict[str, Any]:
    counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    query = (
        select(flow_counters.c.element, flow_counters.c.name, func.sum(flow_counters.c.value))
        .where(flow_counters.c.account_id == account_id, flow_counters.c.flow_id == flow_id)
        .where(_once(flow_counters) if version is None else flow_counters.c.version == version)
        .group_by(flow_counters.c.element, flow_counters.c.name)
    )
    for element, name, value in conn.execute(query):
        counters[element][name] = int(value)
    flow_level = counters.get("", {})
    refused = {
        name.removeprefix("refused."): int(value)
        for name, value in flow_level.items()
        if name.startswith("refused.")
    }
    flow: dict[str, Any] = {name: int(flow_level.get(name, 0)) for name in FLOW_NAMES}
    for name in ("profilesInFlow", "activeProfiles", "goalPerformers"):
        flow[name] = int(flow_level.get(f"people.{name}", 0))
    flow["refusedEntries"] = refused
    flow["goalValue"] = float(Decimal(int(flow_level.get("goalValueMicros", 0))) / MICROS)
    flow["trafficCost"] = _cost(flow_level)
    entries = int(flow_level.get("profilesInFlow", 0))  # counted once per entry
    converted = int(flow_level.get("goalPerformers", 0))  # once per participation
    flow["conversionRate"] = round(converted / entries, 4) if entries else 0.0
    channels: dict[str, dict[str, Any]] = {}
    for name, value in flow_level.items():
        if name.startswith("channel."):
            _, channel, figure = name.split(".", 2)
            channels.setdefault(channel, {f: 0 for f in CHANNEL_FIGURES})[figure] = int(value)
    for figures in channels.values():
        figures["cost"] = float(Decimal(int(figures.pop("costMicros"))) / MICROS)
    # each element's name: in that version's document, or (all versions) the newest's
    present = set(counters) - {""}
    if version is None:
        names = newest_names(conn, account_id, flow_id)
    else:
        named = ElementNames(conn, account_id)
        named.preload([(flow_id, version)])
        names = {e: named.name(flow_id, version, e) for e in present}
    elements: dict[str, dict[str, Any]] = {}
    for element in sorted(present):
        values = counters[element]
        elements[element] = {
            "name": names.get(element),
            "totalEngagements": int(values.get("totalEngagements", 0)),
            "uniqueEngagements": int(values.get("uniqueEngagements", 0)),
            "messagesSent": int(values.get("messagesSent", 0)),
            "trafficCost": _cost(values),
            "sendsDeferred": int(values.get("sendsDeferred", 0)),
            "sendsDropped": int(values.get("sendsDropped", 0)),
        }
        # add_to_flow: people it could not add, by reason (the target's frequency cap,
        # targetNotActive, loop); given only where there were some.
        refusals = {n[8:]: int(v) for n, v in values.items() if n.startswith("refused.")}
        if refusals:
            elements[element]["refused"] = refusals
    return {
        "flow": flow,
        "elements": elements,
        "channels": dict(sorted(channels.items())),
        "version": "all" if version is None else version,
    }


# The figures of a series point, from the hourly roll-up's names (store/counts.py SERIES).
SERIES_NAMES = {
    "people.profilesInFlow": "profilesInFlow",
    "profilesExited": "profilesExited",
    "people.activeProfiles": "activeProfiles",
    "people.goalPerformers": "goalPerformers",
    "goalValueMicros": "goalValue",
    "messagesSent": "messagesSent",
    "trafficCostMicros": "trafficCost",
    "sendsDeferred": "sendsDeferred",
    "sendsDropped": "sendsDropped",
}
_AMOUNTS = ("goalValue", "trafficCost")


def _buckets(start: datetime, end: datetime, by: str, zone: tzinfo) -> Iterator[datetime]:
    """The local starts of the hours or days from `start` until `end` (aware datetimes),
    in `zone`: wall-clock steps, so a day is a calendar day whatever its length."""
    local = start.astimezone(zone)
    if by == "day":
        at = datetime(local.year, local.month, local.day, tzinfo=zone)
        while at < end:
            yield at
            day = at.date() + timedelta(days=1)
            at = datetime(day.year, day.month, day.day, tzinfo=zone)
    else:
        at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while at < end:
            yield at.astimezone(zone)
            at += timedelta(hours=1)


def _offset(hour: int, zone: tzinfo) -> int:
    offset = datetime.fromtimestamp(hour * 3600, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _segments(first: int, last: int, zone: tzinfo) -> list[tuple[int, int, int]]:
    """The hours `first`..`last` (since the epoch) as runs of one UTC offset in `zone`:
    (first hour, last hour, offset in seconds); a daylight-saving change starts a run.
    The offset is read a day apart, and hour by hour only across a day where it changed."""
    runs: list[tuple[int, int, int]] = []
    hour, offset = first, _offset(first, zone)
    while hour <= last:
        step = min(24, last - hour + 1)
        if _offset(hour + step - 1, zone) != offset:
            step = 1  # a change in the coming day: find its hour
        if runs and runs[-1][2] == offset:
            runs[-1] = (runs[-1][0], hour + step - 1, offset)
        else:
            runs.append((hour, hour + step - 1, offset))
        hour += step
        offset = _offset(hour, zone) if hour <= last else offset
    return runs


def series(
    conn: Connection,
    account_id: int,
    flow_id: int,
    version: int | None,
    *,
    by: str,
    start: datetime,
    end: datetime,
    zone: tzinfo,
) -> list[dict[str, Any]]:
    """The flow figures by `by` ("hour" or "day" in `zone`) from `start` until `end`
    (aware instants), a point for every bucket (zeros where nothing happened). The
    roll-up is kept by UTC hour: a day is the hours that start in it (exact in every
    zone whose offset is whole hours; in the others a day is off by its part hour).
    The database sums the hours of a day: a 90-day series reads a row a day and name."""
    points = list(_buckets(start, end, by, zone))
    if not points:
        return []
    first = int(points[0].timestamp()) // 3600
    last = int(end.timestamp() - 1) // 3600
    p = param(dialect_of_conn(conn))
    # all versions: people counted once are version 0's rows, the rest the versions' sum
    versions = f"((name LIKE {p}) = (version = 0))" if version is None else f"version = {p}"
    chosen = ("people.%",) if version is None else (version,)
    # a point's key: its hour, or its local day (days since the epoch, wall clock)
    runs = [(first, last, 0)] if by == "hour" else _segments(first, last, zone)
    keys = [
        int(point.timestamp()) // 3600
        if by == "hour"
        else (int(point.timestamp()) + int((point.utcoffset() or timedelta()).total_seconds()))
        // 86400
        for point in points
    ]
    slot_of = {key: n for n, key in enumerate(keys)}
    sums: list[dict[str, int]] = [defaultdict(int) for _ in points]
    for low, high, offset in runs:
        bucket = "hour" if by == "hour" else f"(hour * 3600 + {int(offset)}) / 86400"
        rows = conn.exec_driver_sql(
            f"SELECT {bucket} AS b, name, sum(value) FROM flow_series "
            f"WHERE account_id = {p} AND flow_id = {p} AND hour BETWEEN {p} AND {p} "
            f"AND {versions} GROUP BY b, name",
            (account_id, flow_id, low, high, *chosen),
        )
        for key, name, value in rows:
            figure, slot = SERIES_NAMES.get(name), slot_of.get(int(key))
            if figure is not None and slot is not None:
                sums[slot][figure] += int(value)
    out: list[dict[str, Any]] = []
    for point, values in zip(points, sums, strict=True):
        item: dict[str, Any] = {"at": point.isoformat()}
        for figure in SERIES_NAMES.values():
            value = values.get(figure, 0)
            item[figure] = float(Decimal(value) / MICROS) if figure in _AMOUNTS else value
        out.append(item)
    return out
