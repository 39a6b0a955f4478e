"""The outbox as its dispatchers read and mark it: messages and notifications handed to
the sandbox provider (`engine/dispatch.py`), and `call_api` rows claimed, leased and
finished (`engine/api_calls.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from tidings.store import sandbox
from tidings.store.dialect import (
    Dialect,
    dialect_of,
    ids_in,
    param,
    sql_build_object,
    sql_empty_object,
    sql_false,
    sql_json_bool,
    sql_json_int,
    sql_json_text,
    sql_json_value,
    sql_skip_locked,
)
from tidings.store.journeys import fetch, outbox_sql
from tidings.store.tables import accounts

CHUNK = 2000

# --- messages and notifications: the sandbox provider's side ----------------------------

# An outbox row as the dispatcher reads it: id, account, participation, flow, version,
# element, person, kind, channel, wantsResult.
Sendable = tuple[
    int, int, int | None, int | None, int | None, str | None, int | None, str, str | None, bool
]


def _payload(dialect: Dialect) -> tuple[str, str, str, str, str]:
    """to, from, content, parts and wantsResult of an outbox payload, in SQL."""
    return (
        sql_json_text(dialect, "payload", "to"),
        sql_json_text(dialect, "payload", "from"),
        f"COALESCE({sql_json_value(dialect, 'payload', 'content')}, {sql_empty_object(dialect)})",
        f"COALESCE({sql_json_int(dialect, 'payload', 'parts')}, 1)",
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
    dialect = dialect_of(conn.engine.url.drivername)
    p = param(dialect)
    wants = _payload(dialect)[4]
    return fetch(
        conn,
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, kind, "
        f"channel, {wants} FROM outbox WHERE status = 'pending' AND next_attempt_at <= {p} "
        f"AND kind != 'call_api'{outbox_sql(owned, partitions)} "
        # By time, then id: in id order SQLite read the whole outbox past the done rows.
        f"ORDER BY next_attempt_at, id LIMIT {int(limit)}",
        (now,),
    )


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
    dialect = dialect_of(conn.engine.url.drivername)
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
    conn: Connection, name: str, ids: Sequence[int], now: int, *, people_exist: bool
) -> None:
    """Report `name` of each of these messages straight into its person's events, the
    properties built from the outbox row (flow, version, element, channel, messageId).
    `people_exist`: none can have been deleted (else a deleted person's is skipped)."""
    dialect = dialect_of(conn.engine.url.drivername)
    p = param(dialect)
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
    dialect = dialect_of(conn.engine.url.drivername)
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
    p = param(dialect_of(conn.engine.url.drivername))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = 'sending', attempts = {p}, next_attempt_at = {p} "
        f"WHERE id = {p}",
        leases,
    )


def finish_calls(conn: Connection, finished: Sequence[tuple[str, int, int]]) -> None:
    """Answered calls: (status `done` or `failed`, done at, id) each."""
    p = param(dialect_of(conn.engine.url.drivername))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = {p}, done_at = {p} WHERE id = {p}",
        finished,
    )
