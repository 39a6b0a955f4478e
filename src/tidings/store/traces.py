"""The per-person trace: what happened to a person in each flow, and why.

The engine writes one `journey_steps` row per participation and batch (`kind` "steps",
`detail` the batch's lines `[element, what]` or `[element, what, why]`, all at the row's
`at`), plus one row per refused entry
(`kind` "refused", `detail` {"reason"}); a row per batch rather than per line keeps the
trace at one insert per person and batch on the hot path.

A batch, and above all a set-based move, writes the same lines for many people. A detail
that one write gives to two rows or more, or that is already stored, is kept once in
`journey_step_details` (per account, kind, element and lines, and per day of `at`) and
the rows carry its id; a detail of one row alone stays on the row (a shared copy and its
index would cost more). Readers take the row's own detail or the shared one.

A set-based entry (engine/uniform.py) writes no row at all: everyone of the cohort
entered with the same lines at the same instant, so the participation carries the id of
that shared detail (`entry_detail`), read as the journey's first lines at `entered_at`.

Rows older than the retention (`TIDINGS_TRACE_RETENTION_DAYS`) are deleted by the
engine's housekeeping, in id order (no index on `at`: see `prune`), and a shared detail
when its day is wholly past the retention: every row that used it is older than that.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, or_, select

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.store.dialect import dialect_of_conn, insert_values, json_param, param
from tidings.store.element_names import ElementNames
from tidings.store.tables import flows, journey_step_details, journey_steps, participations, people

MAX_JOURNEYS = 100
DAY = 86_400 * 1_000_000  # micros: shared details are kept per day of their rows' `at`
CHUNK = 500

# A detail as written: account, kind, element, lines (JSON text), day.
Key = tuple[int, str, str | None, str, int]


def _digest(key: Key) -> bytes:
    account_id, kind, element, detail, _day = key
    return hashlib.blake2b(
        orjson.dumps([account_id, kind, element, detail]), digest_size=16
    ).digest()


def _shared(conn: Connection, wanted: Counter[Key]) -> dict[Key, int]:
    """Ids of the shared details for `wanted` (each key with the number of rows that will
    use it): stored for keys of two rows or more, looked up for the others."""
    if not wanted:
        return {}
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    digests = {key: _digest(key) for key in wanted}
    made = sorted(  # in one order: concurrent writers on PostgreSQL take locks alike
        ((k[0], k[4], digests[k], k[1], k[2], k[3]) for k, n in wanted.items() if n > 1),
        key=lambda row: (row[1], row[2]),
    )
    if made:
        conn.exec_driver_sql(
            "INSERT INTO journey_step_details (account_id, day, digest, kind, element, detail) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {j}) ON CONFLICT (day, digest) DO NOTHING",
            made,
        )
    by_day: dict[int, list[bytes]] = defaultdict(list)
    for key, digest in digests.items():
        by_day[key[4]].append(digest)
    found: dict[tuple[int, bytes], int] = {}
    for day, listed in by_day.items():
        for start in range(0, len(listed), CHUNK):
            chunk = listed[start : start + CHUNK]
            for digest, detail_id in conn.exec_driver_sql(
                f"SELECT digest, id FROM journey_step_details WHERE day = {p} "
                f"AND digest IN ({', '.join([p] * len(chunk))})",
                (day, *chunk),
            ):
                found[(day, bytes(digest))] = int(detail_id)
    return {
        key: found[(key[4], digest)] for key, digest in digests.items() if (key[4], digest) in found
    }


def write_steps(conn: Connection, steps: Sequence[tuple[Any, ...]]) -> None:
    """Trace rows: (account, person, flow, version, participation, element, kind, detail
    as JSON text, at) each; details given to several rows are stored once."""
    if not steps:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    keys: list[Key] = [(s[0], s[6], s[5], s[7], s[8] // DAY) for s in steps]
    shared = _shared(conn, Counter(keys))
    rows = []
    for step, key in zip(steps, keys, strict=True):
        detail_id = shared.get(key)
        if detail_id is None:
            rows.append((*step[:8], None, step[8]))
        else:
            rows.append((*step[:5], None, None, None, detail_id, step[8]))
    insert_values(  # multi-row statements: not a statement a row (`executemany`)
        conn,
        "INSERT INTO journey_steps (account_id, person_id, flow_id, version, participation_id, "
        "element, kind, detail, detail_id, at)",
        f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, {p}, {p}",
        rows,
    )


def entry_detail(
    conn: Connection, account_id: int, element: str | None, lines: Any, at: int
) -> int:
    """The id of the shared detail of an entry's trace `lines` at `at`, stored if new: a
    set-based entry puts it on its participations (`entry_detail`) instead of writing a
    trace row each. Shared even for one participation: the next entries of the flow's
    version that day have the same lines."""
    key: Key = (account_id, "steps", element, orjson.dumps(lines).decode(), at // DAY)
    return _shared(conn, Counter({key: 2}))[key]


def copy_steps(conn: Connection, ids: str, element: str | None, lines: Any, at: int) -> None:
    """The same trace lines for many participations at once (`ids`: a comma-separated
    list of participation ids, ints only, of one account: a cohort of the engine's
    set-based moves, engine/uniform.py), each row taking its participation's person,
    flow and version. The lines are one shared detail (unless there is one row)."""
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    first = int(ids.split(",", 1)[0])
    account = conn.exec_driver_sql(
        f"SELECT account_id FROM participations WHERE id = {first}"
    ).scalar()
    detail = orjson.dumps(lines).decode()
    detail_id = None
    if account is not None:
        key: Key = (int(account), "steps", element, detail, at // DAY)
        detail_id = _shared(conn, Counter({key: ids.count(",") + 1})).get(key)
    columns = "account_id, person_id, flow_id, version, participation_id"
    if detail_id is None:
        conn.exec_driver_sql(
            f"INSERT INTO journey_steps ({columns}, element, kind, detail, at) SELECT "
            f"{columns.replace('participation_id', 'id')}, {p}, 'steps', {j}, {p} "
            f"FROM participations WHERE id IN ({ids})",
            (element, detail, at),
        )
    else:
        conn.exec_driver_sql(
            f"INSERT INTO journey_steps ({columns}, detail_id, at) SELECT "
            f"{columns.replace('participation_id', 'id')}, {p}, {p} "
            f"FROM participations WHERE id IN ({ids})",
            (detail_id, at),
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
            journey_step_details.c.detail,
        )
        .join(flows, flows.c.id == participations.c.flow_id)
        # a set-based entry's lines; a detail gone with the retention shows none
        .outerjoin(
            journey_step_details,
            (journey_step_details.c.id == participations.c.entry_detail)
            & (journey_step_details.c.account_id == account_id),
        )
        .where(
            participations.c.account_id == account_id,
            participations.c.person_id == person_id,
            # the index by flow and person, probed once for each flow of the account: no
            # index leads with the person over all participations (it would cost one more
            # entry a participation), and without this the whole table was read
            participations.c.flow_id.in_(
                select(flows.c.id).where(flows.c.account_id == account_id)
            ),
        )
        .order_by(participations.c.entered_at.desc(), participations.c.id.desc())
        .limit(MAX_JOURNEYS)
    ).all()
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.detail is not None:  # the entry's lines come first, at entered_at
            steps[r.id] += _lines(r.detail, r.entered_at)
    refused: list[dict[str, Any]] = []
    shared = journey_step_details
    for pid, flow_id, version, kind, detail, at in conn.execute(
        select(
            journey_steps.c.participation_id,
            journey_steps.c.flow_id,
            journey_steps.c.version,
            func.coalesce(journey_steps.c.kind, shared.c.kind),
            func.coalesce(journey_steps.c.detail, shared.c.detail),
            journey_steps.c.at,
        )
        .select_from(journey_steps.outerjoin(shared, shared.c.id == journey_steps.c.detail_id))
        .where(
            journey_steps.c.account_id == account_id,
            journey_steps.c.person_id == person_id,
            # a row whose shared detail is gone is past the retention, only not yet pruned
            or_(journey_steps.c.detail_id.is_(None), shared.c.id.is_not(None)),
        )
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
            steps[pid] += _lines(data, at)
    names = ElementNames(conn, account_id)
    names.preload((r.flow_id, r.version) for r in rows)
    for r in rows:
        for step in steps.get(r.id, ()):
            step["elementName"] = names.name(r.flow_id, r.version, step["element"])
    return {
        "journeys": [
            {
                "participation": r.id,
                "flow": r.flow_id,
                "flowName": r.name,
                "version": r.version,
                "status": r.phase,
                "element": r.element,
                "elementName": names.name(r.flow_id, r.version, r.element),
                "enteredAt": format_micros(r.entered_at),
                "exitedAt": None if r.exited_at is None else format_micros(r.exited_at),
                "exitReason": r.exit_reason,
                "steps": steps.get(r.id, []),
            }
            for r in rows
        ],
        "refusedEntries": refused[-MAX_JOURNEYS:][::-1],
    }


def _lines(detail: Any, at: int) -> list[dict[str, Any]]:
    """A "steps" detail's lines (`[element, what]` or `[element, what, why]`) at `at`."""
    data = orjson.loads(detail) if isinstance(detail, str | bytes) else detail
    when = format_micros(at)
    out = []
    for line in data or []:
        element, what, *why = line
        out.append(
            {
                "at": when,
                "element": element,
                "elementName": None,  # person_journeys names it from its version
                "what": what,
                "why": why[0] if why else None,
            }
        )
    return out


def has_older(conn: Connection, before: int) -> bool:
    """Whether `prune(before)` has anything to delete (two probes, no scan)."""
    first = conn.execute(select(journey_steps.c.at).order_by(journey_steps.c.id).limit(1)).first()
    if first is not None and first[0] < before:
        return True
    old = select(journey_step_details.c.id).where(journey_step_details.c.day < before // DAY)
    return conn.execute(old.limit(1)).first() is not None


def prune(conn: Connection, before: int, limit: int = 50_000) -> int:
    """Delete trace rows older than `before` (micros) among the `limit` oldest by id, and
    the shared details of days wholly before it; answer how many rows went.

    There is no index on `at` (it would cost as much as the row's index by person): rows
    go in id order. `at` grows with the id on SQLite's single writer. On PostgreSQL a
    batch reads its `at` before its rows get their ids, so several workers' rows can be
    out of order by about a batch's length (and their clocks' difference): a row then
    waits behind a younger one with a smaller id and leaves that much later. A row whose
    shared detail has gone is read as gone already (person_journeys)."""
    window = select(journey_steps.c.id).order_by(journey_steps.c.id).limit(limit).subquery("oldest")
    last = conn.execute(select(func.max(window.c.id))).scalar()
    done = 0
    if last is not None:
        done += (
            conn.execute(
                delete(journey_steps).where(journey_steps.c.id <= last, journey_steps.c.at < before)
            ).rowcount
            or 0
        )
    done += (
        conn.execute(
            delete(journey_step_details).where(journey_step_details.c.day < before // DAY)
        ).rowcount
        or 0
    )
    return done
