"""The outbox: messages, notifications and API calls a step asked for, as rows the
dispatcher (engine/dispatch.py) hands to providers; the engine writes them, done when
handed over in the step's own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.domain.journey import CallApi, Notify, SendMessage
from tidings.store.dialect import (
    dialect_of,
    insert_values,
    json_param,
    param,
    sql_literal,
)
from tidings.store.raw import person_partition_sql


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
