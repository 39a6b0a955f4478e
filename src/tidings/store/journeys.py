"""Participations, inbox and counters: what the engine reads before a batch and writes
after it. Hot paths use raw driver SQL and multi-row inserts; the engine is the only writer of
participations, so ids are allocated by it (a counter from MAX(id), or the sequence on
PostgreSQL)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Generator, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from tidings.domain.durations import from_micros
from tidings.domain.entry_rules import Past
from tidings.domain.journey import Notify, Person, SendMessage
from tidings.domain.journey.needs import EVERYTHING, Needs
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.store import traces
from tidings.store.dialect import (
    Dialect,
    dialect_of,
    ids_in,
    insert_values,
    json_param,
    param,
    sql_literal,
)
from tidings.store.tables import (
    PHASE_CODE,
    PHASES,
    WAITING,
    inbox,
    outbox,
    participations,
)
from tidings.store.wakeups import notify_work

CHUNK = 500
INBOX_PAGE = 250  # inbox rows fetched at a time (a row may be a bundle of 2,000 people)
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


# An audience entry is queued as bundles, not a row a person: an `enter` row whose payload
# is {"people": [person ids]} (of one partition; `person_id` is the first) stands for the
# plain entry of each of them, in that order (store/audience.py). Readers see one
# `InboxItem` a person (`bundled`, sharing the row's id); consuming some of them takes
# them out of the row, which goes with its last (`Changes.consume`).
BUNDLE = "people"


@dataclass
class InboxItem:
    id: int
    account_id: int
    partition: int
    person_id: int
    kind: str
    flow_id: int | None
    version: int | None
    participation_id: int | None
    payload: dict[str, Any]
    due_at: int
    bundled: bool = False  # one of a bundle's people: `id` is the bundle's row


@dataclass
class Changes:
    """Everything one batch writes, in one transaction."""

    inserted: list[Row] = field(default_factory=list)
    updated: list[Row] = field(default_factory=list)
    consumed_inbox: list[int] = field(default_factory=list)
    # bundle row -> the people of it consumed (the row keeps the others)
    consumed_bundled: dict[int, list[int]] = field(default_factory=dict)
    new_inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[tuple[int, int, int, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    visits: set[tuple[int, int, int, str, int]] = field(default_factory=set)
    events: list[tuple[int, int, str, str, int, int]] = field(default_factory=list)
    # journey_steps rows: account, person, flow, version, participation, element, kind,
    # detail (JSON text), at
    steps: list[tuple[Any, ...]] = field(default_factory=list)

    def consume(self, item: InboxItem) -> None:
        """Take `item` out of the inbox: its row, or its person out of a bundle."""
        if item.bundled:
            self.consumed_bundled.setdefault(item.id, []).append(item.person_id)
        else:
            self.consumed_inbox.append(item.id)

    def trace(
        self,
        where: tuple[int, int, int, int, int | None, str | None],
        kind: str,
        detail: Any,
        at: int,
    ) -> None:
        """A journey_steps row: `where` is (account, person, flow, version, participation,
        element); `detail` the lines of a "steps" row or the reason of a "refused" one."""
        self.steps.append((*where, kind, orjson.dumps(detail).decode(), at))


def _row(raw: Any) -> Row:
    data = {name: raw._mapping[name] for name in COLUMNS}
    for name in JSON_COLUMNS:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = orjson.loads(value)
    for name, empty in EMPTY_AS_NULL.items():
        if data[name] is None:
            data[name] = empty.copy()
    return Row(**data)


def fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Rows of a raw query straight from the driver's cursor, inside `conn`'s transaction
    (SQLAlchemy's per-row result handling cost more than the query on engine reads)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def stream(
    conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 1000
) -> Generator[list[Any], None, None]:
    """The rows of a raw query `size` at a time, inside `conn`'s transaction, fetched
    only as they are asked for: SQLite steps its statement lazily; on PostgreSQL a
    server-side cursor holds the rest. Stop early and nothing more is read."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"tidings_stream_{next(_cursors)}")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params if isinstance(params, Mapping) else tuple(params))
        while rows := cursor.fetchmany(size):
            yield list(rows)
    finally:
        cursor.close()


_cursors = itertools.count()


def partition_sql(owned: frozenset[int] | None, column: str = "partition") -> str:
    """An `AND ...` clause restricting raw SQL to owned partitions (ints only, inlined);
    None means every partition."""
    if owned is None:
        return ""
    if not owned:
        return " AND 1 = 0"
    return f" AND {column} IN ({', '.join(str(int(p)) for p in sorted(owned))})"


def person_partition_sql(owned: frozenset[int] | None, partitions: int) -> str:
    """`partition_sql` for a table that has the person, not the partition (participations,
    outbox): a person's partition is person_id % P, P fixed at install (DESIGN.md). The
    remainder is spelled without `%`, which psycopg would read as a placeholder."""
    n = int(partitions)
    return partition_sql(owned, f"(person_id - person_id / {n} * {n})")


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def next_ids(conn: Connection, count: int, table: str = "participations") -> list[int]:
    """`count` fresh ids of `table` (participations or outbox: the engine is their only
    inserter; on SQLite, inside the writer's transaction, nobody else takes one)."""
    if count == 0:
        return []
    assert table in ("participations", "outbox")
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
            f"FROM generate_series(1, {int(count)})"
        )
        return [int(r[0]) for r in rows]
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
    seq = conn.exec_driver_sql(f"SELECT seq FROM sqlite_sequence WHERE name = '{table}'").scalar()
    start = max(int(top or 0), int(seq or 0)) + 1
    return list(range(start, start + count))


def due_inbox(
    conn: Connection, now: int, limit: int, owned: frozenset[int] | None = None
) -> list[InboxItem]:
    """Due stimuli in order, up to `limit` (a bundle counts a stimulus a person). Raw SQL
    and orjson: at ingest rates this read is hot. The rows are fetched a few at a time
    (`stream`): `limit` rows of bundles would be `limit` times 2,000 people."""
    p = param(dialect_of(conn.engine.url.drivername))
    sql = (
        "SELECT id, account_id, partition, person_id, kind, flow_id, version, "
        f"participation_id, payload, due_at FROM inbox WHERE due_at <= {p}"
        f"{partition_sql(owned)} ORDER BY due_at, id LIMIT {int(limit)}"
    )
    items: list[InboxItem] = []
    with closing(stream(conn, sql, (now,), INBOX_PAGE)) as pages:  # closed when we stop
        for rows in pages:
            for r in rows:
                payload = orjson.loads(r[8]) if isinstance(r[8], str | bytes) else r[8]
                if r[4] == "enter" and BUNDLE in payload:
                    account, part, flow, due = r[1], r[2], r[5], r[9]
                    items += [
                        InboxItem(
                            r[0], account, part, person, "enter", flow, None, None, {}, due, True
                        )
                        for person in payload[BUNDLE][: limit - len(items)]
                    ]
                else:
                    items.append(
                        InboxItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], payload, r[9])
                    )
                if len(items) >= limit:
                    return items
    return items


def _take_from_bundles(
    conn: Connection, dialect: Dialect, taken: dict[int, list[int]]
) -> list[int]:
    """Take people out of their bundles (`Changes.consumed_bundled`): the others keep the
    rest, in order; answer the bundles left with nobody, for the caller to delete."""
    p, j = param(dialect), json_param(dialect)
    ids = sorted(taken)
    rows = fetch(
        conn, f"SELECT id, payload FROM inbox WHERE id IN ({', '.join([p] * len(ids))})", ids
    )
    gone: list[int] = []
    kept: list[tuple[int, str, int]] = []
    for row_id, raw in rows:
        payload = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
        out = set(taken[row_id])
        left = [person for person in payload[BUNDLE] if person not in out]
        if left:
            kept.append((left[0], orjson.dumps({BUNDLE: left}).decode(), row_id))
        else:
            gone.append(row_id)
    if kept:
        conn.exec_driver_sql(
            f"UPDATE inbox SET person_id = {p}, payload = {j} WHERE id = {p}", kept
        )
    return gone


_SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM participations"
_JSON_AT = tuple(i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS)
_EMPTY_AT = tuple((COLUMNS.index(c), empty) for c, empty in EMPTY_AS_NULL.items())
_PHASE_AT = COLUMNS.index("phase")


def _raw_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
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


def due_timers(
    conn: Connection,
    now: int,
    limit: int,
    owned: frozenset[int] | None = None,
    *,
    partitions: int,
) -> list[Row]:
    p = param(dialect_of(conn.engine.url.drivername))
    return _raw_rows(
        conn,
        f"{_SELECT_ROWS} WHERE phase = {WAITING} AND wake_at IS NOT NULL AND wake_at <= {p}"
        f"{person_partition_sql(owned, partitions)} ORDER BY wake_at LIMIT {int(limit)}",
        (now,),
    )


def first_timer(
    conn: Connection, now: int, owned: frozenset[int] | None = None, *, partitions: int
) -> int | None:
    """When the earliest timer due at `now` or before comes (None: no timer is due)."""
    p = param(dialect_of(conn.engine.url.drivername))
    found = fetch(
        conn,
        f"SELECT wake_at FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
        f"AND wake_at <= {p}{person_partition_sql(owned, partitions)} ORDER BY wake_at LIMIT 1",
        (now,),
    )
    return int(found[0][0]) if found else None


def timed_people(conn: Connection, people: Iterable[int], at: int) -> set[int]:
    """Those of these people with a timer due at `at` or before (the awaiting index by
    person: their few waiting rows each)."""
    p = param(dialect_of(conn.engine.url.drivername))
    out: set[int] = set()
    for chunk in _chunks(sorted(set(people))):
        out.update(
            r[0]
            for r in fetch(
                conn,
                f"SELECT DISTINCT person_id FROM participations WHERE phase = {WAITING} "
                f"AND person_id IN ({', '.join([p] * len(chunk))}) "
                f"AND wake_at IS NOT NULL AND wake_at <= {p}",
                (*chunk, at),
            )
        )
    return out


def waiting_people(conn: Connection, account_person: Iterable[tuple[int, int]]) -> set[int]:
    """Those of these people who wait in some flow (one probe of the awaiting index each)."""
    by_account: dict[int, set[int]] = defaultdict(set)
    for account_id, person_id in account_person:
        by_account[account_id].add(person_id)
    p = param(dialect_of(conn.engine.url.drivername))
    out: set[int] = set()
    for account_id, ids in by_account.items():
        for chunk in _chunks(sorted(ids)):
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


def message_row(
    where: tuple[int, int, int, int, int], at: int, message: SendMessage | Notify
) -> dict[str, Any]:
    """The outbox row of a message or a notification; `where` is (account, participation,
    flow, version, person)."""
    account_id, participation_id, flow_id, version, person_id = where
    notify = isinstance(message, Notify)
    payload = {
        "to": message.to,
        "from": message.sender,
        "content": dict(message.content),
        "parts": message.parts,
        "wantsResult": False if isinstance(message, Notify) else message.wants_result,
    }
    return {
        "account_id": account_id,
        "participation_id": participation_id,
        "flow_id": flow_id,
        "version": version,
        "person_id": person_id,
        "created_at": at,
        "next_attempt_at": at,
        "element": message.element,
        "kind": "notify" if notify else "message",
        "channel": message.channel,
        "payload": payload,
        # the payload's JSON, made here (on the engine's thread) rather than by the writer
        "payload_json": orjson.dumps(payload).decode(),
    }


def live_of(conn: Connection, account_person: Iterable[tuple[int, int]]) -> list[Row]:
    """Live participations of these people. Between batches a live participation is
    always waiting (running is a state inside a batch), so the partial index on waiting
    rows serves this, and people who wait for nothing cost one index probe."""
    by_account: dict[int, list[int]] = defaultdict(list)
    for account_id, person_id in set(account_person):
        by_account[account_id].append(person_id)
    p = param(dialect_of(conn.engine.url.drivername))
    out: list[Row] = []
    for account_id, ids in by_account.items():
        for chunk in _chunks(ids):
            out.extend(
                _raw_rows(
                    conn,
                    f"{_SELECT_ROWS} WHERE account_id = {p} AND phase = {WAITING} "
                    f"AND person_id IN ({', '.join([p] * len(chunk))})",
                    (account_id, *chunk),
                )
            )
    return out


def by_ids(conn: Connection, ids: Iterable[int]) -> list[Row]:
    wanted = list(set(ids))
    out: list[Row] = []
    for chunk in _chunks(wanted):
        out.extend(
            _row(r)
            for r in conn.execute(select(participations).where(participations.c.id.in_(chunk)))
        )
    return out


def history(conn: Connection, flow_id: int, person_ids: Iterable[int]) -> dict[int, list[Past]]:
    """Every participation of these people in the flow (raw SQL: a batch asks for
    thousands, and most have none)."""
    dialect = dialect_of(conn.engine.url.drivername)
    p = param(dialect)
    out: dict[int, list[Past]] = defaultdict(list)
    for chunk in _chunks(sorted(set(person_ids))):
        if dialect == "postgresql":
            # A probe of (flow_id, person_id) for each person, whatever the statistics:
            # `person_id IN (...)` on a table not analyzed since it grew was planned as
            # the flow's whole index range, filtered (see store/person_refs.py).
            sql = (
                "SELECT w.p, h.entered_at, h.exited_at FROM unnest(%s::bigint[]) AS w(p) "
                "CROSS JOIN LATERAL (SELECT entered_at, exited_at FROM participations "
                "WHERE flow_id = %s AND person_id = w.p OFFSET 0) AS h"
            )
            found = fetch(conn, sql, (list(chunk), flow_id))
        else:
            found = fetch(
                conn,
                "SELECT person_id, entered_at, exited_at FROM participations WHERE flow_id = "
                f"{p} AND person_id IN ({', '.join([p] * len(chunk))})",
                (flow_id, *chunk),
            )
        for person_id, entered, exited in found:
            out[person_id].append(
                Past(from_micros(entered), None if exited is None else from_micros(exited))
            )
    return out


_API_NAMES = tuple(STANDARD_ATTRIBUTES)


def load_people(
    conn: Connection, ids: Iterable[int], needs: Needs = EVERYTHING
) -> dict[int, Person]:
    """Profile snapshots for a batch: raw SQL and orjson, up to three queries per 500
    people (a batch loads thousands; Core's row mapping and json decoding cost more than
    SQL). `needs` (domain/journey/needs.py) leaves out what nobody will read: the
    custom attributes, standard columns, tags, a kind of contact."""
    wanted = sorted(set(ids))
    p = param(dialect_of(conn.engine.url.drivername))
    names = (
        _API_NAMES
        if needs.attributes is None
        else tuple(n for n in _API_NAMES if n in needs.attributes)
    )
    custom = needs.attributes is None or any(n not in STANDARD_ATTRIBUTES for n in needs.attributes)
    columns = ["id", "external_id", "attributes" if custom else "NULL"]
    columns += [STANDARD_ATTRIBUTES[n] for n in names]
    kinds = [
        k for k, wanted_kind in (("phone", needs.phones), ("email", needs.emails)) if wanted_kind
    ]
    found: dict[int, tuple[str | None, dict[str, Any]]] = {}
    tag_names: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(wanted):
        marks = ", ".join([p] * len(chunk))
        for row in fetch(
            conn, f"SELECT {', '.join(columns)} FROM people WHERE id IN ({marks})", chunk
        ):
            raw = row[2]
            attributes = dict(orjson.loads(raw) if isinstance(raw, str | bytes) else raw or {})
            for name, value in zip(names, row[3:], strict=True):
                if value is not None:
                    attributes[name] = value
            found[row[0]] = (row[1], attributes)
        if needs.tags:
            for person_id, name in fetch(
                conn,
                "SELECT person_tags.person_id, tags.name FROM person_tags JOIN tags "
                f"ON tags.id = person_tags.tag_id WHERE person_tags.person_id IN ({marks})",
                chunk,
            ):
                tag_names[person_id].append(name)
        if kinds:
            only = "" if len(kinds) == 2 else f"kind = '{kinds[0]}' AND "
            for person_id, kind, value in fetch(
                conn,
                "SELECT person_id, kind, value FROM person_contacts "
                f"WHERE {only}person_id IN ({marks}) ORDER BY person_id, position",
                chunk,
            ):
                (phones if kind == "phone" else emails)[person_id].append(value)
    return {
        pid: Person(
            id=pid,
            external_id=external_id,
            attributes=attributes,
            tags=frozenset(tag_names.get(pid, ())),
            phones=tuple(phones.get(pid, ())),
            emails=tuple(emails.get(pid, ())),
            timezone=attributes.get("timezone"),
        )
        for pid, (external_id, attributes) in found.items()
    }


def existing_people(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Those of these people who exist (not deleted)."""
    p = param(dialect_of(conn.engine.url.drivername))
    out: list[int] = []
    for chunk in _chunks(sorted(set(ids))):
        marks = ", ".join([p] * len(chunk))
        out += [r[0] for r in fetch(conn, f"SELECT id FROM people WHERE id IN ({marks})", chunk)]
    return out


def insert_outbox(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    *,
    ids: Sequence[int] | None = None,
    done_at: int | None = None,
) -> None:
    """Outbox rows (`message_row`'s shape), pending; or, with their `ids` and `done_at`,
    already done (handed to the provider in this transaction: engine/dispatch.py)."""
    if not rows:
        return
    dialect = dialect_of(conn.engine.url.drivername)
    p, j = param(dialect), json_param(dialect)
    columns = (
        "account_id, participation_id, flow_id, version, element, person_id, kind, channel, "
        "payload, attempts, next_attempt_at, created_at"
    )
    values = [
        (
            o["account_id"],
            o["participation_id"],
            o["flow_id"],
            o["version"],
            o["element"],
            o["person_id"],
            o["kind"],
            o["channel"],
            o.get("payload_json") or orjson.dumps(o["payload"]).decode(),
            o["next_attempt_at"],
            o["created_at"],
        )
        for o in rows
    ]
    if ids is None:
        insert_values(
            conn,
            f"INSERT INTO outbox ({columns}, status)",
            f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, 0, {p}, {p}, 'pending'",
            values,
        )
        return
    # What a group of rows shares (a send element's: account ... channel, and the
    # instants) goes into the statement once; each row binds its id, participation,
    # person and payload.
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for oid, (
        account,
        pid,
        flow,
        version,
        element,
        person,
        kind,
        channel,
        payload,
        due,
        made,
    ) in zip(ids, values, strict=True):
        groups[(account, flow, version, element, kind, channel, due, made)].append(
            (oid, pid, person, payload)
        )
    for (account, flow, version, element, kind, channel, due, made), own in groups.items():
        shared = [sql_literal(v) for v in (account, flow, version, element, kind, channel)]
        shared += [sql_literal(v) for v in (due, made, done_at)]
        if any(v is None for v in shared):
            insert_values(
                conn,
                f"INSERT INTO outbox (id, {columns}, status, done_at)",
                f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, 0, {p}, {p}, 'done', {p}",
                [
                    (oid, account, pid, flow, version, element, person, kind, channel, *rest)
                    for oid, pid, person, payload in own
                    for rest in [(payload, due, made, done_at)]
                ],
            )
            continue
        a, f, v, e, k, c, d, m, done = shared
        insert_values(
            conn,
            f"INSERT INTO outbox (id, {columns}, status, done_at)",
            f"{p}, {a}, {p}, {f}, {v}, {e}, {p}, {k}, {c}, {j}, 0, {d}, {m}, 'done', {done}",
            own,
        )


def write_changes(conn: Connection, changes: Changes) -> None:
    """One batch's writes: participations, inbox, outbox, counters, visits, events, and
    the trace (store/traces.py)."""
    dialect: Dialect = dialect_of(conn.engine.url.drivername)
    p, j = param(dialect), json_param(dialect)
    marks = ", ".join(j if c in JSON_COLUMNS else p for c in COLUMNS)
    if changes.inserted:
        insert_values(
            conn,
            f"INSERT INTO participations ({', '.join(COLUMNS)})",
            marks,
            [r.values() for r in changes.inserted],
        )
    if changes.updated:
        sets = ", ".join(f"{c} = {j if c in JSON_COLUMNS else p}" for c in COLUMNS[1:])
        conn.exec_driver_sql(
            f"UPDATE participations SET {sets} WHERE id = {p}",
            [(*r.values()[1:], r.id) for r in changes.updated],
        )
    consumed = changes.consumed_inbox
    if changes.consumed_bundled:
        consumed = [*consumed, *_take_from_bundles(conn, dialect, changes.consumed_bundled)]
    for chunk in _chunks(consumed):  # mostly a run of the inbox's head
        conn.exec_driver_sql(f"DELETE FROM inbox WHERE {ids_in('id', chunk)}")
    if changes.new_inbox:
        insert_values(
            conn,
            "INSERT INTO inbox (account_id, partition, person_id, kind, flow_id, version, "
            "participation_id, payload, due_at)",
            f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, {p}",
            [
                (
                    i["account_id"],
                    i["partition"],
                    i["person_id"],
                    i["kind"],
                    i.get("flow_id"),
                    i.get("version"),
                    i.get("participation_id"),
                    orjson.dumps(i["payload"]).decode(),
                    i["due_at"],
                )
                for i in changes.new_inbox
            ],
        )
        notify_work(conn)
    insert_outbox(conn, changes.outbox)
    if changes.counters:
        insert_values(  # one row a key (a dict's): PostgreSQL updates a row once a statement
            conn,
            "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value)",
            f"{p}, {p}, {p}, {p}, {p}, {p}",
            [(*key, value) for key, value in changes.counters.items() if value],
            "ON CONFLICT (flow_id, version, element, name) "
            "DO UPDATE SET value = flow_counters.value + excluded.value",
        )
    if changes.visits:
        insert_values(
            conn,
            "INSERT INTO element_visits (account_id, flow_id, version, element, person_id)",
            f"{p}, {p}, {p}, {p}, {p}",
            sorted(changes.visits),
            "ON CONFLICT DO NOTHING",
        )
    if changes.events:
        insert_values(
            conn,
            "INSERT INTO events (account_id, person_id, name, properties, time, received_at)",
            f"{p}, {p}, {p}, {j}, {p}, {p}",
            changes.events,
        )
    if changes.steps:
        traces.write_steps(conn, changes.steps)


def enqueue(conn: Connection, items: Sequence[dict[str, Any]]) -> None:
    """Add stimuli to the inbox (API entries, cancels, results)."""
    changes = Changes(new_inbox=list(items))
    write_changes(conn, changes)


@dataclass
class Send:
    id: int
    account_id: int
    participation_id: int | None
    flow_id: int | None
    version: int | None
    element: str | None
    person_id: int | None
    kind: str
    channel: str | None
    payload: dict[str, Any]


def outbox_sql(owned: frozenset[int] | None, partitions: int) -> str:
    """Outbox rows of owned partitions (the outbox has the person, not the partition)."""
    return person_partition_sql(owned, partitions)


def pending_sends(
    conn: Connection, now: int, limit: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> list[Send]:
    """Pending message and notify rows, oldest first (raw SQL and orjson: a launch sends
    hundreds of thousands)."""
    p = param(dialect_of(conn.engine.url.drivername))
    rows = conn.exec_driver_sql(
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, kind, "
        f"channel, payload FROM outbox WHERE status = 'pending' AND next_attempt_at <= {p} "
        f"AND kind != 'call_api'{outbox_sql(owned, partitions)} ORDER BY id LIMIT {int(limit)}",
        (now,),
    ).all()
    return [
        Send(
            id=r[0],
            account_id=r[1],
            participation_id=r[2],
            flow_id=r[3],
            version=r[4],
            element=r[5],
            person_id=r[6],
            kind=r[7],
            channel=r[8],
            payload=orjson.loads(r[9]) if isinstance(r[9], str | bytes) else r[9],
        )
        for r in rows
    ]


def has_pending_sends(
    conn: Connection, now: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> bool:
    p = param(dialect_of(conn.engine.url.drivername))
    return (
        conn.exec_driver_sql(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= "
            f"{p} AND kind != 'call_api'{outbox_sql(owned, partitions)} LIMIT 1",
            (now,),
        ).first()
        is not None
    )


def has_due_calls(
    conn: Connection, now: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> bool:
    p = param(dialect_of(conn.engine.url.drivername))
    return (
        conn.exec_driver_sql(
            "SELECT id FROM outbox WHERE kind = 'call_api' AND status IN ('pending', 'sending') "
            f"AND next_attempt_at <= {p}{outbox_sql(owned, partitions)} LIMIT 1",
            (now,),
        ).first()
        is not None
    )


def next_due(conn: Connection) -> int | None:
    """The earliest instant at which any work is due (timer, inbox or outbox)."""
    candidates = [
        conn.execute(
            select(func.min(participations.c.wake_at)).where(
                participations.c.phase == "waiting", participations.c.wake_at.is_not(None)
            )
        ).scalar(),
        conn.execute(select(func.min(inbox.c.due_at))).scalar(),
        conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(
                outbox.c.status.in_(["pending", "sending"])
            )
        ).scalar(),
    ]
    found = [int(c) for c in candidates if c is not None]
    return min(found) if found else None
