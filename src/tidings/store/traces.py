"""The per-person trace: what happened to a person in each flow, and why.

The engine writes one `journey_steps` row per participation and batch (`kind` "steps",
`detail` the batch's lines `[element, what]` or `[element, what, why]`, all at the row's
`at`), plus one row per refused entry
(`kind` "refused", `detail` {"reason"}); a row per batch rather than per line keeps the
trace at one insert per person and batch on the hot path. Rows older than the retention
(`TIDINGS_TRACE_RETENTION_DAYS`) are deleted by the engine's housekeeping.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.store.dialect import dialect_of, json_param, param
from tidings.store.tables import flows, journey_steps, participations, people

MAX_JOURNEYS = 100


def copy_steps(conn: Connection, ids: str, element: str | None, lines: Any, at: int) -> None:
    """The same trace lines for many participations at once (`ids`: a comma-separated
    list of participation ids, ints only), each row taking its participation's person,
    flow and version: the engine's set-based moves (engine/uniform.py) write these."""
    dialect = dialect_of(conn.engine.url.drivername)
    p, j = param(dialect), json_param(dialect)
    conn.exec_driver_sql(
        "INSERT INTO journey_steps (account_id, person_id, flow_id, version, "
        "participation_id, element, kind, detail, at) SELECT account_id, person_id, "
        f"flow_id, version, id, {p}, 'steps', {j}, {p} FROM participations "
        f"WHERE id IN ({ids})",
        (element, orjson.dumps(lines).decode(), at),
    )


def person_journeys(conn: Connection, account_id: int, person_id: int) -> dict[str, Any]:
    """Each flow the person is or was in (newest first), the elements passed with their
    times and reasons, and the entries refused with the rule that refused them."""
    exists = conn.execute(
        select(people.c.id).where(people.c.account_id == account_id, people.c.id == person_id)
    ).first()
    if exists is None:
        raise NotFound(f"person {person_id} does not exist")
    rows = conn.execute(
        select(
            participations.c.id,
            participations.c.flow_id,
            flows.c.name,
            participations.c.version,
            participations.c.phase,
            participations.c.element,
            participations.c.entered_at,
            participations.c.exited_at,
            participations.c.exit_reason,
        )
        .join(flows, flows.c.id == participations.c.flow_id)
        .where(participations.c.account_id == account_id, participations.c.person_id == person_id)
        .order_by(participations.c.entered_at.desc(), participations.c.id.desc())
        .limit(MAX_JOURNEYS)
    ).all()
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    refused: list[dict[str, Any]] = []
    for pid, flow_id, version, kind, detail, at in conn.execute(
        select(
            journey_steps.c.participation_id,
            journey_steps.c.flow_id,
            journey_steps.c.version,
            journey_steps.c.kind,
            journey_steps.c.detail,
            journey_steps.c.at,
        )
        .where(journey_steps.c.account_id == account_id, journey_steps.c.person_id == person_id)
        .order_by(journey_steps.c.id)
    ):
        data = orjson.loads(detail) if isinstance(detail, str | bytes) else detail
        if kind == "refused":
            refused.append(
                {
                    "flow": flow_id,
                    "version": version,
                    "at": format_micros(at),
                    "reason": (data or {}).get("reason"),
                }
            )
        elif pid is not None:
            when = format_micros(at)
            for line in data or []:
                element, what, *why = line
                steps[pid].append(
                    {"at": when, "element": element, "what": what, "why": why[0] if why else None}
                )
    return {
        "journeys": [
            {
                "participation": r.id,
                "flow": r.flow_id,
                "flowName": r.name,
                "version": r.version,
                "status": r.phase,
                "element": r.element,
                "enteredAt": format_micros(r.entered_at),
                "exitedAt": None if r.exited_at is None else format_micros(r.exited_at),
                "exitReason": r.exit_reason,
                "steps": steps.get(r.id, []),
            }
            for r in rows
        ],
        "refusedEntries": refused[-MAX_JOURNEYS:][::-1],
    }


def has_older(conn: Connection, before: int) -> bool:
    return (
        conn.execute(select(journey_steps.c.id).where(journey_steps.c.at < before).limit(1)).first()
        is not None
    )


def prune(conn: Connection, before: int, limit: int = 50_000) -> int:
    """Delete trace rows older than `before` (micros), at most `limit` per call."""
    ids = [
        r[0]
        for r in conn.execute(
            select(journey_steps.c.id)
            .where(journey_steps.c.at < before)
            .order_by(journey_steps.c.at)
            .limit(limit)
        )
    ]
    if not ids:
        return 0
    for start in range(0, len(ids), 500):
        conn.execute(delete(journey_steps).where(journey_steps.c.id.in_(ids[start : start + 500])))
    return len(ids)
