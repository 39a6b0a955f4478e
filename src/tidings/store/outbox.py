"""The outbox: messages, notifications and API calls a step asked for, as rows the
engine writes in the step's own transaction (the first part), and as their dispatchers read
and mark them (the second): messages and notifications handed to the sandbox provider
(`engine/dispatch.py`), `call_api` rows claimed, leased and finished
(`engine/api_calls.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, select

from tidings.domain.journey import CallApi, Notify, SendMessage
from tidings.store import sandbox
from tidings.store.counts import REPORTED, add_counters, channel_counter
from tidings.store.dialect import (
    Dialect,
    dialect_of_conn,
    ids_in,
    insert_values,
    json_field_int,
    json_field_text,
    json_param,
    param,
    sql_build_object,
    sql_empty_object,
    sql_false,
    sql_json_bool,
    sql_json_value,
    sql_literal,
    sql_skip_locked,
)
from tidings.store.raw import fetch, person_partition_sql
from tidings.store.tables import accounts


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
    if isinstance(message, SendMessage):  # its way out, when the element chose one
        if message.connection is not None:
            payload["connection"] = message.connection
        if message.track_links:
            payload["trackLinks"] = True
        if message.attempt is not None:  # a failover's: its provider's report names it
            payload["attempt"] = message.attempt
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


def call_row(where: tuple[int, int, int, int, int], at: int, call: CallApi) -> dict[str, Any]:
    """The outbox row of an API call (`where` as `message_row`'s), pending for the
    dispatcher."""
    account_id, participation_id, flow_id, version, person_id = where
    return {
        "account_id": account_id,
        "participation_id": participation_id,
        "flow_id": flow_id,
        "version": version,
        "person_id": person_id,
        "created_at": at,
        "next_attempt_at": at,
        "element": call.element,
        "kind": "call_api",
        "channel": None,
        "payload": {
            "method": call.method,
            "url": call.url,
            "headers": dict(call.headers),
            "body": call.body,
            "timeout": call.timeout_seconds,
            "retries": call.retries,
        },
    }


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
    _count_sent(conn, rows)
    dialect = dialect_of_conn(conn)
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
            f"INSERT INTO outbox ({columns}, status, connection_id)",
            f"{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, 0, {p}, {p}, 'pending', {p}",
            [(*v, o.get("connection_id")) for v, o in zip(values, rows, strict=True)],
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


def _count_sent(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The channel figures `sent` and `parts` of the messages among `rows`."""
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    at = None
    for o in rows:
        if o["kind"] != "message" or o["flow_id"] is None or not o["channel"]:
            continue
        where = (o["account_id"], o["flow_id"], o["version"] or 0, o["channel"])
        counters[channel_counter(*where, "sent")] += 1
        counters[channel_counter(*where, "parts")] += int(o["payload"].get("parts") or 1)
        at = o["created_at"]
    if counters:
        add_counters(conn, counters, at)


def outbox_sql(owned: frozenset[int] | None, partitions: int) -> str:
    """Outbox rows of owned partitions (the outbox has the person, not the partition)."""
    return person_partition_sql(owned, partitions)


def has_pending_sends(
    conn: Connection, now: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> bool:
    p = param(dialect_of_conn(conn))
    return (
        conn.exec_driver_sql(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= "
            f"{p} AND kind != 'call_api' AND connection_id IS NULL"
            f"{outbox_sql(owned, partitions)} LIMIT 1",
            (now,),
        ).first()
        is not None
    )


def has_due_calls(
    conn: Connection, now: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> bool:
    p = param(dialect_of_conn(conn))
    return (
        conn.exec_driver_sql(
            "SELECT id FROM outbox WHERE kind = 'call_api' AND status IN ('pending', 'sending') "
            f"AND next_attempt_at <= {p}{outbox_sql(owned, partitions)} LIMIT 1",
            (now,),
        ).first()
        is not None
    )


# --- the dispatchers' side: messages and notifications handed to the sandbox provider ---

CHUNK = 2000  # ids a statement lists


class Sendable(NamedTuple):
    """An outbox row as the dispatcher reads it."""

    id: int
    account_id: int
    participation_id: int | None
    flow_id: int | None
    version: int | None
    element: str | None
    person_id: int | None
    kind: str
    channel: str | None
    wants_result: bool
    tracked: bool = False  # an email, or a text whose links are tracked (`trackLinks`)


def _payload(dialect: Dialect) -> tuple[str, str, str, str, str]:
    """to, from, content, parts and wantsResult of an outbox payload, in SQL."""
    return (
        json_field_text(dialect, "payload", "to"),
        json_field_text(dialect, "payload", "from"),
        f"COALESCE({sql_json_value(dialect, 'payload', 'content')}, {sql_empty_object(dialect)})",
        f"COALESCE({json_field_int(dialect, 'payload', 'parts')}, 1)",
        f"COALESCE({sql_json_bool(dialect, 'payload', 'wantsResult')}, {sql_false(dialect)})",
    )


def due_sends(
    conn: Connection,
    now: int,
    *,
    limit: int,
    owned: frozenset[int] | None,
    partitions: int,
) -> list[Sendable]:
    """Pending messages and notifications (not API calls) due by `now`, of the owned
    partitions, by time then id."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    wants = _payload(dialect)[4]
    tracks = f"COALESCE({sql_json_bool(dialect, 'payload', 'trackLinks')}, {sql_false(dialect)})"
    rows = fetch(
        conn,
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, kind, "
        f"channel, {wants}, {tracks} FROM outbox WHERE status = 'pending' "
        f"AND next_attempt_at <= {p} "
        f"AND kind != 'call_api' AND connection_id IS NULL{outbox_sql(owned, partitions)} "
        # By time, then id: in id order SQLite read the whole outbox past the done rows.
        f"ORDER BY next_attempt_at, id LIMIT {int(limit)}",
        (now,),
    )
    # SQLite reads wantsResult as 0/1
    return [Sendable._make((*r[:9], bool(r[9]), r[8] == "email" or bool(r[10]))) for r in rows]


def mark_sent(conn: Connection, ids: Sequence[int], now: int) -> None:
    """The rows handed over: done at `now`."""
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("id", ids[start : start + CHUNK])
        conn.exec_driver_sql(
            f"UPDATE outbox SET status = 'done', done_at = {int(now)} WHERE {listed}"
        )


def copy_to_sandbox(conn: Connection, ids: Sequence[int], status: str, now: int) -> None:
    """The messages of these outbox rows, as the sandbox provider keeps them, with their
    `status` (copied by SQL: the payload is never decoded in Python)."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    to, sender, content, parts, _wants = _payload(dialect)
    columns = ", ".join(f'"{c}"' for c in sandbox.COLUMNS)
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("id", ids[start : start + CHUNK])
        conn.exec_driver_sql(
            f"INSERT INTO sandbox_messages ({columns}) SELECT id, account_id, "
            f"COALESCE(channel, 'sms'), {to}, {sender}, {content}, {parts}, {p}, {p}, "
            f"flow_id, version, element, person_id FROM outbox WHERE {listed} "
            "ON CONFLICT DO NOTHING",
            (status, now),
        )


def targets(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """id -> (recipient, parts) of these outbox rows (read from their payloads)."""
    dialect = dialect_of_conn(conn)
    to, _sender, _content, parts, _wants = _payload(dialect)
    out: dict[int, tuple[str, int]] = {}
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("id", ids[start : start + CHUNK])
        for oid, target, count in fetch(
            conn, f"SELECT id, {to}, {parts} FROM outbox WHERE {listed}"
        ):
            out[int(oid)] = (str(target or ""), int(count or 1))
    return out


def contents(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """id -> the payload of these outbox rows."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("id", ids[start : start + CHUNK])
        for oid, payload in fetch(conn, f"SELECT id, payload FROM outbox WHERE {listed}"):
            out[int(oid)] = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    return out


def message_refs(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """id -> (id, flow, version, element, channel) of these outbox rows."""
    return {
        int(r[0]): r
        for r in fetch(
            conn,
            "SELECT id, flow_id, version, element, channel FROM outbox WHERE id IN "
            f"({', '.join(str(int(i)) for i in ids)})",
        )
    }


def store_reports(
    conn: Connection,
    name: str,
    ids: Sequence[int],
    now: int,
    *,
    people_exist: bool,
    places: Iterable[Place] | None = None,
    counted: Iterable[tuple[Place, int]] | None = None,
) -> None:
    """Report `name` of each of these messages straight into its person's events, the
    properties built from the outbox row (flow, version, element, channel, messageId).
    `people_exist`: none can have been deleted (else a deleted person's is skipped).
    `places`: each message's (account, flow, version, channel) when the caller has read
    them (else they are read here), for the channel figure; or `counted`: each place
    once, with how many of the messages are its."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    _count_reported(conn, name, ids, places, counted)
    built = (
        f"{sql_build_object(dialect)}('flow', o.flow_id, 'version', o.version, "
        "'element', o.element, 'channel', o.channel, 'messageId', CAST(o.id AS TEXT))"
    )
    for start in range(0, len(ids), CHUNK):
        listed = ids_in("o.id", ids[start : start + CHUNK])
        # a person deleted since the send has no events any more: the join skips them
        join = "" if people_exist else "JOIN people ON people.id = o.person_id "
        conn.exec_driver_sql(
            "INSERT INTO events (account_id, person_id, name, properties, time, received_at) "
            f"SELECT o.account_id, o.person_id, {p}, {built}, {p}, {p} FROM outbox o "
            f"{join}WHERE {listed} ORDER BY o.id",
            (name, now, now),
        )


Place = tuple[
    int, int | None, int | None, str | None
]  # a message's account, flow, version, channel


def _count_reported(
    conn: Connection,
    name: str,
    ids: Sequence[int],
    places: Iterable[Place] | None,
    counted: Iterable[tuple[Place, int]] | None,
) -> None:
    """The channel figure of report `name` (REPORTED) of these messages (a flow's, by
    channel): from their `places` or places `counted` when the caller has them, else
    read by id."""
    figure = REPORTED.get(name)
    if figure is None:
        return
    found: Iterable[tuple[int, int | None, int | None, str | None, int]]
    if counted is not None:
        found = ((*place, n) for place, n in counted)
    elif places is not None:
        found = ((*place, 1) for place in places)
    else:
        found = [
            row
            for start in range(0, len(ids), CHUNK)
            for row in conn.exec_driver_sql(
                "SELECT account_id, flow_id, version, channel, count(*) FROM outbox WHERE "
                f"{ids_in('id', ids[start : start + CHUNK])} AND kind = 'message' "
                "AND flow_id IS NOT NULL AND channel IS NOT NULL "
                "GROUP BY account_id, flow_id, version, channel"
            )
        ]
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for account, flow, version, channel, n in found:
        if flow is not None and channel is not None:
            counters[channel_counter(account, flow, version or 0, channel, figure)] += int(n)
    add_counters(conn, counters)


# --- call_api rows: claimed, leased, finished -------------------------------------------


class DueCall(NamedTuple):
    id: int
    account_id: int
    participation_id: int | None
    flow_id: int | None
    version: int | None
    element: str | None
    person_id: int | None
    payload: Any  # JSON text on SQLite, decoded on PostgreSQL
    attempts: int


def due_calls(
    conn: Connection,
    now: int,
    *,
    limit: int,
    owned: frozenset[int] | None,
    partitions: int,
) -> list[DueCall]:
    """Calls due by `now` (pending, or sending with an ended lease) of the owned
    partitions. On PostgreSQL the rows are locked and rows other workers hold are
    skipped, so two workers never claim one call."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    rows = conn.exec_driver_sql(
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, "
        "payload, attempts FROM outbox WHERE kind = 'call_api' "
        f"AND status IN ('pending', 'sending') AND next_attempt_at <= {p}"
        f"{outbox_sql(owned, partitions)} ORDER BY next_attempt_at, id "
        f"LIMIT {int(limit)}{sql_skip_locked(dialect)}",
        (now,),
    ).all()
    return [DueCall(*r) for r in rows]


def private_url_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each account lets its calls reach private addresses."""
    return {
        int(account): bool(allowed)
        for account, allowed in conn.execute(
            select(accounts.c.id, accounts.c.allow_private_urls).where(
                accounts.c.id.in_(sorted(set(account_ids)))
            )
        ).all()
    }


def lease_calls(conn: Connection, leases: Sequence[tuple[int, int, int]]) -> None:
    """Claimed calls: (attempts, lease end, id) each, status `sending` until the lease
    ends (then another claim may take the call again)."""
    p = param(dialect_of_conn(conn))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = 'sending', attempts = {p}, next_attempt_at = {p} "
        f"WHERE id = {p}",
        leases,
    )


def finish_calls(conn: Connection, finished: Sequence[tuple[str, int, int]]) -> None:
    """Answered calls: (status `done` or `failed`, done at, id) each."""
    p = param(dialect_of_conn(conn))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = {p}, done_at = {p} WHERE id = {p}",
        finished,
    )
