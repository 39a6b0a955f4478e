"""Flow performance, from the counters the engine commits with every step (exact after
any crash) and from participations and visits for the unique counts.

Goals: `goalPerformers` counts participations in which the person met the goal (once
each); `goalValue` is the sum of their goal values, kept as whole millionths in the
`goalValueMicros` counter and answered as a number; `conversionRate` is goal performers
per entry (a person who enters twice and converts once is 0.5), four decimals. The send
window's `sendsDeferred` and `sendsDropped` are given for the flow and each element.
Each element carries its `name` (null without one) from the version's document; over all
versions, from the newest version that has the element (`element_names.py`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, distinct, func, select

from tidings.store.element_names import ElementNames, newest_names
from tidings.store.tables import element_visits, flow_counters, participations

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


def performance(
    conn: Connection, account_id: int, flow_id: int, version: int | None
) -> dict[str, Any]:
    def scoped(table: Any, query: Any) -> Any:
        query = query.where(table.c.account_id == account_id, table.c.flow_id == flow_id)
        return query if version is None else query.where(table.c.version == version)

    counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for element, name, value in conn.execute(
        scoped(
            flow_counters,
            select(
                flow_counters.c.element, flow_counters.c.name, func.sum(flow_counters.c.value)
            ).group_by(flow_counters.c.element, flow_counters.c.name),
        )
    ):
        counters[element][name] = value
    flow_level = counters.get("", {})
    people_in = conn.execute(
        scoped(participations, select(func.count(distinct(participations.c.person_id))))
    ).scalar_one()
    refused = {
        name.removeprefix("refused."): int(value)
        for name, value in flow_level.items()
        if name.startswith("refused.")
    }
    flow: dict[str, Any] = {name: int(flow_level.get(name, 0)) for name in FLOW_NAMES}
    flow["profilesInFlow"] = int(people_in)
    flow["refusedEntries"] = refused
    flow["goalValue"] = float(Decimal(int(flow_level.get("goalValueMicros", 0))) / MICROS)
    flow["trafficCost"] = _cost(flow_level)
    entries = int(flow_level.get("profilesInFlow", 0))  # counted once per entry
    flow["conversionRate"] = round(flow["goalPerformers"] / entries, 4) if entries else 0.0
    unique: dict[str, int] = {
        element: int(count)
        for element, count in conn.execute(
            scoped(
                element_visits,
                select(
                    element_visits.c.element, func.count(distinct(element_visits.c.person_id))
                ).group_by(element_visits.c.element),
            )
        )
    }
    # each element's name: in that version's document, or (all versions) the newest's
    if version is None:
        names = newest_names(conn, account_id, flow_id)
    else:
        named = ElementNames(conn, account_id)
        named.preload([(flow_id, version)])
        names = {e: named.name(flow_id, version, e) for e in set(counters) | set(unique)}
    elements: dict[str, dict[str, Any]] = {}
    for element in sorted(set(counters) - {""} | set(unique)):
        values = counters.get(element, {})
        elements[element] = {
            "name": names.get(element),
            "totalEngagements": int(values.get("totalEngagements", 0)),
            "uniqueEngagements": unique.get(element, 0),
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
    return {"flow": flow, "elements": elements, "version": "all" if version is None else version}
