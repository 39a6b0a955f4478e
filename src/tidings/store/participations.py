"""Participations: the row as stored (`Row`), the engine's reads of it (a person's live
rows, a flow's history) and its writes. The engine is the only writer of
participations; hot paths use raw driver SQL, JSON decoded with orjson.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, update

from tidings.domain.durations import from_micros
from tidings.domain.entry_rules import Past
from tidings.domain.journey import Phase
from tidings.store.dialect import (
    dialect_of_conn,
    ids_in,
    insert_values,
    json_param,
    param,
    sql_literal,
    sql_percent,
)
from tidings.store.ids import next_ids
from tidings.store.raw import chunks, fetch
from tidings.store.tables import PHASE_CODE, PHASES, WAITING, participations

COLUMNS = (
    "id",
    "account_id",
    "flow_id",
    "version",
    "person_id",
    "phase",
    "element",
    "variables",
    "entry_event",
    "local",
    "message_events",
    "wake_at",
    "waiting_for",
    "waiting_element",
    "entered_at",
    "exited_at",
    "exit_reason",
)
JSON_COLUMNS = {"variables", "entry_event", "local", "message_events"}
# Stored as NULL when empty, read back as empty (tables.py): what each is when empty.
EMPTY_AS_NULL: dict[str, Any] = {"variables": {}, "local": {}, "message_events": []}


@dataclass
class Row:
    """A participation as stored (instants in micros, JSON decoded, NULL empties read as
    empty, the phase by name: its code is the store's, tables.PHASES). `entry_detail` is
    not here: only the set-based entry writes it, and the general path's updates leave it
    as it is. `waiting_for` is the column as stored: NULL while the person waits for the
    event of the element they wait at, which only the program knows (the engine maps it:
    engine/programs.py `stored_waiting_for`, `Programs.waiting_for`)."""

    id: int
    account_id: int
    flow_id: int
    version: int
    person_id: int
    phase: str
    element: str | None
    variables: dict[str, Any]
    entry_event: dict[str, Any] | None
    local: dict[str, Any]
    message_events: list[list[str]]
    wake_at: int | None
    waiting_for: str | None
    waiting_element: str | None
    entered_at: int
    exited_at: int | None
    exit_reason: str | None

    def values(self) -> tuple[Any, ...]:
        out = []
        for name in COLUMNS:
            value = getattr(self, name)
            if name == "phase":
                value = PHASE_CODE[value]
            elif name in JSON_COLUMNS:
                empty = name in EMPTY_AS_NULL and not value
                value = None if value is None or empty else orjson.dumps(value).decode()
            out.append(value)
        return tuple(out)

    def moved_values(self) -> tuple[Any, ...]:
        """`values()` of the columns a move sets (`MOVE_COLUMNS`), in that order."""
        values = self.values()
        return tuple(values[i] for i in _MOVED_AT)


# An audience entry is queued as bundles, not a row a person: an `enter` row whose payload
# is {"people": [person ids]} (of one partition; `person_id` is the first) stands for the


SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM participations"
_JSON_AT = tuple(i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS)
_EMPTY_AT = tuple((COLUMNS.index(c), empty) for c, empty in EMPTY_AS_NULL.items())
_PHASE_AT = COLUMNS.index("phase")


def raw_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    """Participations by raw SQL, JSON columns decoded with orjson (Core's row mapping and
    stdlib json cost more than the query at engine rates)."""
    out = []
    loads = orjson.loads
    for raw in fetch(conn, sql, params):
        values = list(raw)
        values[_PHASE_AT] = PHASES[values[_PHASE_AT]]
        for i in _JSON_AT:
            value = values[i]
            if isinstance(value, str | bytes):
                values[i] = loads(value)
        for i, empty in _EMPTY_AT:
            if values[i] is None:
                values[i] = empty.copy()
        out.append(Row(*values))
    return out


def waiting_people(conn: Connection, account_person: Iterable[tuple[int, int]]) -> set[int]:
    """Those of these people who wait in some flow (one probe of the awaiting index each)."""
    by_account: dict[int, set[int]] = defaultdict(set)
    for account_id, person_id in account_person:
        by_account[account_id].add(person_id)
    p = param(dialect_of_conn(conn))
    out: set[int] = set()
    for account_id, ids in by_account.items():
        for chunk in chunks(sorted(ids)):
            out.update(
                r[0]
                for r in fetch(
                    conn,
                    f"SELECT DISTINCT person_id FROM participations WHERE account_id = {p} "
                    f"AND phase = {WAITING} AND person_id IN ({', '.join([p] * len(chunk))})",
                    (account_id, *chunk),
                )
            )
    return out


def live_of(conn: Connection, account_person: Iterable[tuple[int, int]]) -> list[Row]:
    """Live participations of these people. Between batches a live participation is
    always waiting (running is a state inside a batch), so the partial index on waiting
    rows serves this, and people who wait for nothing cost one index probe."""
    by_account: dict[int, list[int]] = defaultdict(list)
    for account_id, person_id in set(account_person):
        by_account[account_id].append(person_id)
    p = param(dialect_of_conn(conn))
    out: list[Row] = []
    for account_id, ids in by_account.items():
        for chunk in chunks(ids):
            out.extend(
                raw_rows(
                    conn,
                    f"{SELECT_ROWS} WHERE account_id = {p} AND phase = {WAITING} "
                    f"AND person_id IN ({', '.join([p] * len(chunk))})",
                    (account_id, *chunk),
                )
            )
    return out


def history(conn: Connection, flow_id: int, person_ids: Iterable[int]) -> dict[int, list[Past]]:
    """Every participation of these people in the flow (raw SQL: a batch asks for
    thousands, and most have none)."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    out: dict[int, list[Past]] = defaultdict(list)
    for chunk in chunks(sorted(set(person_ids))):
        if dialect == "postgresql":
            # A probe of (flow_id, person_id) for each person, whatever the statistics:
            # `person_id IN (...)` on a table not analyzed since it grew was planned as
            # the flow's whole index range, filtered (see store/person_refs.py).
            sql = (
                "SELECT w.p, h.entered_at, h.exited_at, h.version FROM unnest(%s::bigint[]) "
                "AS w(p) CROSS JOIN LATERAL (SELECT entered_at, exited_at, version "
                "FROM participations "
                "WHERE flow_id = %s AND person_id = w.p OFFSET 0) AS h"
            )
            found = fetch(conn, sql, (list(chunk), flow_id))
        else:
            found = fetch(
                conn,
                "SELECT person_id, entered_at, exited_at, version FROM participations "
                "WHERE flow_id = "
                f"{p} AND person_id IN ({', '.join([p] * len(chunk))})",
                (flow_id, *chunk),
            )
        for person_id, entered, exited, version in found:
            out[person_id].append(
                Past(
                    from_micros(entered),
                    None if exited is None else from_micros(exited),
                    int(version),
                )
            )
    return out


MOVE_CHUNK = 2000  # participation ids a statement of a set-based move lists


# What a step or a set-based move sets (engine/programs.apply_moved), in this order.
MOVE_COLUMNS = (
    "phase",
    "element",
    "wake_at",
    "waiting_for",
    "waiting_element",
    "local",
    "exited_at",
    "exit_reason",
)
_MOVED_AT = tuple(COLUMNS.index(c) for c in MOVE_COLUMNS)


def set_moved(conn: Connection, ids: Sequence[int], state: tuple[Any, ...]) -> None:
    """The same state (`Row.moved_values()`) on the participations `ids`."""
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    sets = ", ".join(f"{c} = {j if c in JSON_COLUMNS else p}" for c in MOVE_COLUMNS)
    for start in range(0, len(ids), MOVE_CHUNK):
        listed = ids_in("id", ids[start : start + MOVE_CHUNK])
        conn.exec_driver_sql(f"UPDATE participations SET {sets} WHERE {listed}", state)


def set_entry_detail(conn: Connection, ids: Sequence[int], detail: int) -> None:
    """The shared trace detail of an entry (store/traces.entry_detail) on these rows."""
    p = param(dialect_of_conn(conn))
    for start in range(0, len(ids), MOVE_CHUNK):
        listed = ids_in("id", ids[start : start + MOVE_CHUNK])
        conn.exec_driver_sql(
            f"UPDATE participations SET entry_detail = {p} WHERE {listed}", (detail,)
        )


def end_version(conn: Connection, flow_id: int, version: int, reason: str, at: int) -> int:
    """Everyone still in the version leaves at `at` for `reason`; answer how many."""
    result = conn.execute(
        update(participations)
        .where(
            participations.c.flow_id == flow_id,
            participations.c.version == version,
            participations.c.phase != Phase.exited.value,
        )
        .values(phase=Phase.exited.value, exit_reason=reason, exited_at=at, wake_at=None)
    )
    return int(result.rowcount)


# A waiting participation as the set-based paths look at it: id, flow, version,
# element, waiting_for (as stored), local (as stored: JSON text or NULL), wake_at.
Waiting = tuple[int, int, int, str | None, str | None, Any, int | None]


def waiting_of(
    conn: Connection, account_person: Iterable[tuple[int, int]]
) -> dict[int, list[Waiting]]:
    """The waiting participations of these people, by person (the awaiting index by
    person: their few waiting rows each)."""
    by_account: dict[int, list[int]] = defaultdict(list)
    for account_id, person_id in account_person:
        by_account[account_id].append(person_id)
    p = param(dialect_of_conn(conn))
    out: dict[int, list[Waiting]] = defaultdict(list)
    for account_id, people in by_account.items():
        for start in range(0, len(people), MOVE_CHUNK):
            chunk = people[start : start + MOVE_CHUNK]
            for pid, person_id, flow_id, version, element, waiting_for, local, wake_at in fetch(
                conn,
                "SELECT id, person_id, flow_id, version, element, waiting_for, local, wake_at "
                f"FROM participations WHERE account_id = {p} AND phase = {WAITING} "
                f"AND person_id IN ({', '.join([p] * len(chunk))})",
                (account_id, *chunk),
            ):
                out[person_id].append((pid, flow_id, version, element, waiting_for, local, wake_at))
    return out


# a participation row's own values (COLUMNS): id, person_id, variables, entry_event
_OWN = frozenset(COLUMNS.index(c) for c in ("id", "person_id", "variables", "entry_event"))


def insert_alike(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Participations that took one path (`COLUMNS` then `entry_detail`, JSON as text):
    what they share goes into the statement once; each row binds only its own: the id,
    the person, their variables and entry event."""
    if not rows:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    columns = f"INSERT INTO participations ({', '.join(COLUMNS)}, entry_detail)"
    shared = [rows[0][i] for i in range(len(rows[0])) if i not in _OWN]
    if all(sql_literal(v) is not None for v in shared):
        marks = ", ".join(
            (j if name in JSON_COLUMNS else p) if i in _OWN else str(sql_literal(rows[0][i]))
            for i, name in enumerate((*COLUMNS, "entry_detail"))
        )
        own = [tuple(row[i] for i in sorted(_OWN)) for row in rows]
        insert_values(conn, columns, marks, own)
    else:
        marks = ", ".join(j if c in JSON_COLUMNS else p for c in COLUMNS)
        insert_values(conn, columns, f"{marks}, {p}", rows)


def enter_people(
    conn: Connection,
    where: tuple[int, int, int],
    people: Sequence[int],
    state: tuple[Any, ...],
    variables: str | None,
    at: int,
    detail: int | None,
    *,
    with_phone: bool = False,
) -> dict[int, int]:
    """Enter these people (ascending ids) of the account into the version, `where` is
    (account, flow, version), all in one state (`MOVE_COLUMNS`) with the same variables
    (JSON text or NULL) and entry detail, entered at `at`; those deleted since (and,
    `with_phone`, those without a phone number or unsubscribed from SMS) are not found.
    Answer person -> participation."""
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    account_id, flow_id, version = where
    # the SQL-composed SMS go to people who have a phone and did not unsubscribe from SMS;
    # the others are left to the general path, which traces why nothing was sent
    reachable = (
        " AND EXISTS (SELECT 1 FROM person_contacts c WHERE c.person_id = people.id "
        "AND c.kind = 'phone') AND (people.unsubscribed IS NULL "
        f"OR people.unsubscribed NOT LIKE {sql_percent(dialect, 'sms')})"
        if with_phone
        else ""
    )
    ids: dict[int, int] = {}
    params = (flow_id, version, *state, variables, at, detail)
    for start in range(0, len(people), MOVE_CHUNK):
        chunk = sorted(set(people[start : start + MOVE_CHUNK]))
        found = f"WHERE {ids_in('people.id', chunk)} "

        def insert(id_column: str, id_value: str, found: str = found) -> str:
            return (
                f"INSERT INTO participations ({id_column}account_id, flow_id, version, "
                "person_id, phase, element, wake_at, waiting_for, waiting_element, local, "
                "exited_at, exit_reason, variables, entry_event, message_events, entered_at, "
                f"entry_detail) SELECT {id_value}people.account_id, {p}, {p}, people.id, {p}, "
                f"{p}, {p}, {p}, {p}, {j}, {p}, {p}, {j}, NULL, NULL, {p}, {p} FROM people "
                f"{found}AND +people.account_id = {int(account_id)}{reachable} "
                "ORDER BY people.id"
            )

        if dialect == "postgresql":
            for pid, person_id in fetch(conn, insert("", "") + " RETURNING id, person_id", params):
                ids[int(person_id)] = int(pid)
            continue
        # SQLite: numbered here, in people's order, so nothing is read back when everyone
        # was found (a RETURNING's rows come one driver step each, and each step let go
        # of the interpreter's lock, which another thread then held: the import's)
        base = next_ids(conn, 1)[0] - 1
        number = f"{base} + row_number() OVER (ORDER BY people.id), "
        entered = conn.exec_driver_sql(insert("id, ", number), params).rowcount
        if entered == len(chunk):
            ids.update(zip(chunk, range(base + 1, base + entered + 1), strict=True))
        elif entered > 0:  # some were deleted since, or cannot be sent to
            for person_id, pid in fetch(
                conn,
                "SELECT person_id, id FROM participations "
                f"WHERE id > {base} AND id <= {base + entered}",
            ):
                ids[int(person_id)] = int(pid)
    return ids


def insert_rows(conn: Connection, rows: Sequence[Row]) -> None:
    """New participations (a batch's entries), numbered by the engine."""
    if not rows:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    insert_values(
        conn,
        f"INSERT INTO participations ({', '.join(COLUMNS)})",
        ", ".join(j if c in JSON_COLUMNS else p for c in COLUMNS),
        [r.values() for r in rows],
    )


def update_rows(conn: Connection, rows: Sequence[Row]) -> None:
    """Participations a batch stepped, every column as the row has it."""
    if not rows:
        return
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    sets = ", ".join(f"{c} = {j if c in JSON_COLUMNS else p}" for c in COLUMNS[1:])
    conn.exec_driver_sql(
        f"UPDATE participations SET {sets} WHERE id = {p}",
        [(*r.values()[1:], r.id) for r in rows],
    )
