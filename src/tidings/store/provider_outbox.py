"""The outbox rows of messages that go out through a connection (engine/sending.py), and
the reports that come back for them (services/deliveries.py).

A row's life: `pending` (written by the step) -> `sending` (claimed, leased until
`next_attempt_at`; a crash leaves it to be claimed again when the lease ends) -> `sent`
(the provider accepted it) -> `delivered` or `failed` (its report). A send the provider
refused is `failed` at once; one it could not take now is `pending` again, later.
Each transition is an UPDATE guarded by the status it leaves, so a repeated report
or a late answer changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection

from tidings.store.dialect import (
    dialect_of_conn,
    ids_in,
    json_field_bool,
    json_field_int,
    param,
    sql_skip_locked,
)
from tidings.store.outbox import outbox_sql
from tidings.store.raw import fetch
from tidings.store.tables import WAITING

SENDING = ("pending", "sending")
OPEN = ("pending", "sending", "sent")  # a report may still come


class Claimed(NamedTuple):
    """A message claimed for its provider."""

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
    attempts: int  # this try's number, from 1
    connection_id: int
    # An earlier try whose answer was never settled (the row was still `sending` when its
    # lease ran out: a crash between the provider's answer and `settle`): when that try
    # was claimed, so at the earliest it reached the provider. Its outcome is unknown; a
    # provider without idempotency looks it up before sending again (channels/twilio.py).
    unknown_since: int | None = None
    # When this claim's lease ends (the `next_attempt_at` the claim wrote): the fence of
    # its settle. A row claimed again since carries a later one, and an answer settled
    # late changes nothing of the new try's (`accepted`, `again`, `finish(leased=...)`).
    leased_until: int = 0


def due(
    conn: Connection,
    now: int,
    *,
    limit: int,
    owned: frozenset[int] | None,
    partitions: int,
    lease: int = 0,
) -> list[Claimed]:
    """Messages due at a provider by `now` (pending, or sending with an ended lease) of
    the owned partitions, oldest first; on PostgreSQL rows another worker holds are
    skipped. The caller leases them (`lease`). A row still
    `sending` is a try whose answer was never settled: `unknown_since` is when it was
    claimed (its lease's end less `lease`, the lease tries are given)."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    # the driver's rows as they come (SQLAlchemy's row handling cost 1 µs a row of 5)
    rows = fetch(
        conn,
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, "
        "kind, channel, payload, attempts + 1, connection_id, "
        f"CASE WHEN status = 'sending' THEN next_attempt_at - {int(lease)} END FROM outbox "
        "WHERE connection_id IS NOT NULL AND status IN ('pending', 'sending') "
        f"AND next_attempt_at <= {p}{outbox_sql(owned, partitions)} "
        f"ORDER BY next_attempt_at, id LIMIT {int(limit)}{sql_skip_locked(dialect)}",
        (now,),
    )
    until = now + lease
    text = bool(rows) and isinstance(rows[0][9], str | bytes)  # PostgreSQL's JSONB: a dict
    parse = orjson.loads if text else dict
    return [
        Claimed(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            parse(r[9]),
            r[10],
            r[11],
            r[12],
            until,
        )
        for r in rows
    ]


def lease(conn: Connection, ids: Sequence[int], now: int, until: int) -> set[int]:
    """Rows `due` read (in this transaction, or before it: SQLite's one engine reads out
    of the writer's lock): `sending` until `until`, their attempt counted, each only if
    it is still due at `now`; answer the ids leased (all, unless a row changed since it
    was read)."""
    taken = 0
    for start in range(0, len(ids), 2000):
        listed = ids_in("id", ids[start : start + 2000])
        taken += conn.exec_driver_sql(
            f"UPDATE outbox SET status = 'sending', attempts = attempts + 1, "
            f"next_attempt_at = {int(until)} WHERE {listed} "
            f"AND status IN ('pending', 'sending') AND next_attempt_at <= {int(now)}"
        ).rowcount
    if taken == len(ids):
        return set(ids)
    # rare: which ones (a leased row's lease ends at `until`, after `now`)
    return _which(conn, ids, f"status = 'sending' AND next_attempt_at = {int(until)}")


def _which(conn: Connection, ids: Sequence[int], condition: str) -> set[int]:
    """Those of these outbox rows that meet `condition` (SQL over the row's columns)."""
    return {
        int(r[0])
        for start in range(0, len(ids), 2000)
        for r in fetch(
            conn,
            f"SELECT id FROM outbox WHERE {ids_in('id', ids[start : start + 2000])} "
            f"AND {condition}",
        )
    }


def accepted(
    conn: Connection, rows: Sequence[tuple[str | None, float | None, int, int]], now: int
) -> set[int]:
    """(provider id, price, outbox id, the claim's lease end) of messages the provider
    took at `now`: `sent`, and `next_attempt_at` (no try is due any more) keeps when it
    was handed over. A row claimed again since (its lease is another) is left alone:
    answer those (the newer claim's answer is the one that counts)."""
    p = param(dialect_of_conn(conn))
    plain: dict[int, list[int]] = {}  # most: nothing of their own, a statement a claim
    for provider_id, price, oid, until in rows:
        if provider_id is None and price is None:
            plain.setdefault(until, []).append(oid)
    short: dict[int, list[int]] = {}  # claims some of whose rows did not change
    for until, ids in plain.items():
        for start in range(0, len(ids), 2000):
            part = ids[start : start + 2000]
            changed = conn.exec_driver_sql(
                f"UPDATE outbox SET status = 'sent', next_attempt_at = {int(now)} "
                f"WHERE {ids_in('id', part)} AND status = 'sending' "
                f"AND next_attempt_at = {int(until)}"
            ).rowcount
            if changed != len(part):
                short.setdefault(until, []).extend(part)
    own = [r for r in rows if r[0] is not None or r[1] is not None]
    if own:
        conn.exec_driver_sql(
            f"UPDATE outbox SET status = 'sent', provider_id = {p}, "
            f"next_attempt_at = {int(now)}, price = COALESCE({p}, price) "
            f"WHERE id = {p} AND status = 'sending' AND next_attempt_at = {p}",
            own,
        )
        for _provider_id, _price, oid, until in own:
            short.setdefault(until, []).append(oid)
        # a report that came before the answer was settled (the provider called back at
        # once) has finished the row: its SID and price are still the answer's (the
        # traffic cost counted the price; a later provider's price replaces this one)
        early = _which(conn, [r[2] for r in own], "status IN ('delivered', 'failed')")
        if early:  # rare: one read for the batch, an update for each of these only
            conn.exec_driver_sql(
                f"UPDATE outbox SET provider_id = COALESCE(provider_id, {p}), "
                f"price = COALESCE(price, {p}) WHERE id = {p}",
                [(r[0], r[1], r[2]) for r in own if r[2] in early],
            )
    # a row this claim did not change was reported already (its lease end is still this
    # claim's) or claimed again since (another lease end, or `sent` by a newer answer):
    # read only the latter, and only for the claims that fell short
    fenced: set[int] = set()
    for until, ids in short.items():
        fenced |= _which(
            conn,
            ids,
            f"next_attempt_at <> {int(until)} "
            f"AND NOT (status = 'sent' AND next_attempt_at = {int(now)})",
        )
    return fenced


def again(conn: Connection, rows: Sequence[tuple[int, str | None, int, int]]) -> None:
    """(when, reason, outbox id, the claim's lease end) of messages to try again:
    `pending` until then (a row claimed again since is left alone)."""
    p = param(dialect_of_conn(conn))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = 'pending', next_attempt_at = {p}, reason = {p} "
        f"WHERE id = {p} AND status = 'sending' AND next_attempt_at = {p}",
        list(rows),
    )


def release(conn: Connection, rows: Sequence[tuple[int, int]], now: int) -> None:
    """(outbox id, the claim's lease end) of claimed messages that were never handed to
    their provider (a paced connection had no turn for them within the lease): `pending`
    again, due at `now`, and the try they were claimed for is not counted."""
    alike: dict[int, list[int]] = {}
    for oid, until in rows:
        alike.setdefault(until, []).append(oid)
    for until, ids in alike.items():
        for start in range(0, len(ids), 2000):
            conn.exec_driver_sql(
                f"UPDATE outbox SET status = 'pending', attempts = attempts - 1, "
                f"next_attempt_at = {int(now)} WHERE {ids_in('id', ids[start : start + 2000])} "
                f"AND status = 'sending' AND next_attempt_at = {int(until)}"
            )


def finish(
    conn: Connection,
    rows: Sequence[tuple[str, int, str | None, float | None, int]],
    *,
    leaving: Sequence[str],
    leased: Mapping[int, int] | None = None,
    still: Collection[int] | None = None,
) -> list[int]:
    """(status `delivered`/`failed`, at, reason, price, outbox id): the rows among them
    still in one of the `leaving` statuses take it; answer the ids that changed (a
    repeated report changes none). `leased`: a claim's answers, by id the claim's lease
    end; a row claimed again since (its lease is another) is left alone. `still`: the ids
    this transaction read, locked (`of_connection(..., lock=True)`, `alike`), in one of
    the `leaving` statuses: their status cannot have changed since, so it is not read
    again."""
    if not rows:
        return []
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    states = ", ".join(f"'{s}'" for s in leaving)
    if still is not None and leased is None:
        # read in this transaction, under the rows' lock: no second read (each row a
        # SQLite step costs the writer the interpreter's lock once more)
        changing = [r for r in rows if r[4] in still]
    else:
        ids = [r[4] for r in rows]
        before = {
            int(r[0]): int(r[1])
            for start in range(0, len(ids), 2000)
            for r in fetch(
                conn,
                f"SELECT id, next_attempt_at FROM outbox "
                f"WHERE {ids_in('id', ids[start : start + 2000])} "
                f"AND status IN ({states}){_for_update(dialect)}",
            )
        }
        if leased is None:
            changing = [r for r in rows if r[4] in before]
        else:
            changing = [r for r in rows if r[4] in before and before[r[4]] == leased.get(r[4])]
    # one statement for each (status, at, reason, price): a provider's reports mostly share
    # them (a batch delivered at one price), so a bucket of 1,000 is a statement or two
    alike: dict[tuple[str, int, str | None, float | None], list[int]] = {}
    for status, at, reason, price, oid in changing:
        alike.setdefault((status, at, reason, price), []).append(oid)
    for (status, at, reason, price), same in alike.items():
        for start in range(0, len(same), 2000):
            conn.exec_driver_sql(
                f"UPDATE outbox SET status = {p}, done_at = {p}, reason = COALESCE({p}, reason), "
                f"price = COALESCE({p}, price) WHERE {ids_in('id', same[start : start + 2000])} "
                f"AND status IN ({states})",
                (status, at, reason, price),
            )
    return [r[4] for r in changing]


def _for_update(dialect: Any, table: str = "") -> str:
    if dialect != "postgresql":
        return ""
    return f" FOR UPDATE OF {table}" if table else " FOR UPDATE"


def priced(conn: Connection, rows: Sequence[tuple[float, int]]) -> None:
    """(price, outbox id): a provider's price for a message, whatever its status."""
    if rows:
        p = param(dialect_of_conn(conn))
        conn.exec_driver_sql(f"UPDATE outbox SET price = {p} WHERE id = {p}", list(rows))


class Sent(NamedTuple):
    """A message sent through a connection, as a report finds it."""

    id: int
    account_id: int
    participation_id: int | None
    flow_id: int | None
    version: int | None
    element: str | None
    person_id: int | None
    kind: str
    channel: str | None
    status: str
    wants_result: bool
    attempt: int | None
    price: float | None


def of_connection(
    conn: Connection, connection_id: int, ids: Iterable[int], *, lock: bool = False
) -> dict[int, Sent]:
    """These messages, those sent through this connection only (others are missing).
    `lock`: held until the transaction ends (PostgreSQL's FOR UPDATE; SQLite's writer
    holds the whole file), so their status read here stays theirs (`finish(still=)`)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    locked = _for_update(dialect) if lock else ""
    # the payload's two fields read by SQL: parsing each payload here cost more
    wants = json_field_bool(dialect, "payload", "wantsResult")
    attempt = json_field_int(dialect, "payload", "attempt")
    out: dict[int, Sent] = {}
    for start in range(0, len(wanted), 2000):
        for r in fetch(
            conn,
            "SELECT id, account_id, participation_id, flow_id, version, element, person_id, "
            f"kind, channel, status, {wants}, {attempt}, price FROM outbox "
            f"WHERE connection_id = {p} AND {ids_in('id', wanted[start : start + 2000])}{locked}",
            (connection_id,),
        ):
            out[r[0]] = Sent._make(r)
    return out


class Alike(NamedTuple):
    """A callback's messages of one flow, version, element and channel at one price
    (`alike`), and whether each is `plain`: a person's message, not yet reported final,
    whose report nobody waits for (no result asked of it, its person waiting in no
    flow)."""

    account_id: int
    flow_id: int | None
    version: int | None
    element: str | None
    channel: str | None
    price: float | None
    messages: int
    plain: bool


def alike(conn: Connection, connection_id: int, ids: Sequence[int]) -> list[Alike]:
    """These messages sent through this connection, counted by what a delivery report
    changes of them alike (`Alike`); locked until the transaction ends (PostgreSQL's FOR
    UPDATE; SQLite's writer holds the whole file). A few rows, where `of_connection`
    answers one a message: a callback of 1,000 reports read that way cost the writer
    3 µs a report (each row a SQLite step, the interpreter's lock let go and taken again)."""
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    wants = json_field_bool(dialect, "o.payload", "wantsResult")
    still = ", ".join(f"'{s}'" for s in OPEN)
    found: dict[tuple[Any, ...], tuple[int, bool]] = {}
    for start in range(0, len(ids), 2000):
        for r in fetch(
            conn,
            "WITH m AS (SELECT o.account_id, o.flow_id, o.version, o.element, o.channel, "
            f"o.price, CASE WHEN o.kind = 'message' AND o.person_id IS NOT NULL "
            f"AND o.status IN ({still}) AND NOT ({wants} AND o.participation_id IS NOT NULL) "
            "AND NOT EXISTS (SELECT 1 FROM participations pa WHERE pa.person_id = o.person_id "
            f"AND pa.phase = {WAITING} AND pa.account_id = o.account_id) THEN 1 ELSE 0 END "
            f"AS plain FROM outbox o WHERE o.connection_id = {p} "
            f"AND {ids_in('o.id', ids[start : start + 2000])}{_for_update(dialect, 'o')}) "
            "SELECT account_id, flow_id, version, element, channel, price, count(*), "
            "min(plain) FROM m GROUP BY account_id, flow_id, version, element, channel, price",
            (connection_id,),
        ):
            key = tuple(r[:6])
            count, plain = found.get(key, (0, True))
            found[key] = (count + int(r[6]), plain and bool(r[7]))
    return [Alike._make((*key, count, plain)) for key, (count, plain) in found.items()]


def has_due(
    conn: Connection, now: int, owned: frozenset[int] | None = None, partitions: int = 1
) -> bool:
    """Whether any message is due at a provider by `now` (a read before a claim)."""
    p = param(dialect_of_conn(conn))
    return (
        conn.exec_driver_sql(
            "SELECT id FROM outbox WHERE connection_id IS NOT NULL "
            f"AND status IN ('pending', 'sending') AND next_attempt_at <= {p}"
            f"{outbox_sql(owned, partitions)} LIMIT 1",
            (now,),
        ).first()
        is not None
    )


def first_time(conn: Connection, column: str, ids: Sequence[int], now: int) -> list[int]:
    """Mark `column` (`seen_at` or `clicked_at`) of these messages at `now` where it was
    not set; answer the ids marked now (a repeated report marks none)."""
    assert column in ("seen_at", "clicked_at")
    if not ids:
        return []
    listed = ids_in("id", sorted(set(ids)))
    dialect = dialect_of_conn(conn)
    fresh = [
        int(r[0])
        for r in fetch(
            conn,
            f"SELECT id FROM outbox WHERE {listed} AND {column} IS NULL{_for_update(dialect)}",
        )
    ]
    if fresh:
        conn.exec_driver_sql(f"UPDATE outbox SET {column} = {int(now)} WHERE {ids_in('id', fresh)}")
    return fresh


class Tracked(NamedTuple):
    """A message as its tracking and unsubscribe links find it."""

    message: Sent
    content: dict[str, Any]
    track_links: bool
    handed_at: int  # when the provider took it (`accepted`)
    seen_at: int | None


def tracked(conn: Connection, message_id: int) -> Tracked | None:
    """The message a signed link names (any account: the signature is the authority)."""
    p = param(dialect_of_conn(conn))
    rows = fetch(
        conn,
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, "
        "kind, channel, status, payload, price, next_attempt_at, seen_at FROM outbox "
        f"WHERE id = {p}",
        (message_id,),
    )
    if not rows:
        return None
    r = rows[0]
    payload = orjson.loads(r[10]) if isinstance(r[10], str | bytes) else dict(r[10])
    wants = bool(payload.get("wantsResult"))
    sent = Sent._make((*r[:10], wants, payload.get("attempt"), r[11]))
    content = dict(payload.get("content") or {})
    return Tracked(sent, content, bool(payload.get("trackLinks")), int(r[12]), r[13])
