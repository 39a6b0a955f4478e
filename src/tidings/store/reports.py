"""Reports made in the background: their rows (`reports`), their files a chunk a row
(`report_chunks`), the worker's claims and leases, and the participations a people
report reads, streamed in id order (services/reports.py says what each report is).

Leases are wall-clock micros (`time.time`), not the account's clock: a report is built
in real time whatever the clock, and a worker that stops mid-way leaves its report to
be claimed again when its lease ends (`claim_report`), its chunks written anew.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.store import report_emails
from tidings.store.dialect import dialect_of_conn, param, shed_cache
from tidings.store.tables import PHASES, report_chunks, reports

MAX_ATTEMPTS = 3  # a report whose worker stopped this often while building it fails
STREAM_ROWS = 5000  # rows a streaming cursor fetches at a time


@dataclass(frozen=True)
class Claimed:
    """A report a worker now builds."""

    id: int
    account_id: int
    type: str
    name: str
    format: str
    request: dict[str, Any]


def _view(row: Any, email: dict[str, Any] | None = None) -> dict[str, Any]:
    ready = row.status == "ready"
    request = dict(row.request or {})
    return {
        "id": row.id,
        "type": row.type,
        "name": row.name,
        "format": row.format,
        "flow": request.get("flow"),
        "version": request.get("version"),
        "month": request.get("month"),
        "accounts": request.get("accounts"),
        # running is pending to a client: the file is not there yet
        "status": "pending" if row.status == "running" else row.status,
        "reason": row.reason if row.status == "failed" else None,
        "size": row.size if ready else None,
        "rows": row.rows if ready else None,
        "createdAt": format_micros(row.created_at),
        "finishedAt": None if row.finished_at is None else format_micros(row.finished_at),
        "email": email,  # to whom it is emailed when done, and how that went (or None)
    }


def create_report(
    conn: Connection,
    account_id: int,
    *,
    type: str,
    name: str,
    format: str,
    request: dict[str, Any],
    now: int,
) -> dict[str, Any]:
    report_id = conn.execute(
        insert(reports)
        .values(
            account_id=account_id,
            type=type,
            name=name,
            format=format,
            request=request,
            status="pending",
            attempts=0,
            created_at=now,
        )
        .returning(reports.c.id)
    ).scalar_one()
    return read_report(conn, account_id, int(report_id))


def read_report(conn: Connection, account_id: int, report_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(reports).where(reports.c.account_id == account_id, reports.c.id == report_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"report {report_id} does not exist")
    return _view(row, report_emails.views_of(conn, account_id, [report_id]).get(report_id))


def list_reports(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Newest first; `limit + 1` rows (paging)."""
    rows = conn.execute(
        select(reports)
        .where(reports.c.account_id == account_id)
        .order_by(reports.c.id.desc())
        .limit(limit + 1)
        .offset(offset)
    ).all()
    emails = report_emails.views_of(conn, account_id, [int(r.id) for r in rows])
    return [_view(r, emails.get(int(r.id))) for r in rows]


# --- the worker's side ------------------------------------------------------------------


def has_due(conn: Connection, wall: int) -> bool:
    """Whether a report waits for a worker (pending, or its worker's lease ran out)."""
    return _due_id(conn, wall) is not None


def _due_id(conn: Connection, wall: int) -> int | None:
    found = conn.execute(
        select(reports.c.id)
        .where(
            reports.c.status.in_(("pending", "running")),
            (reports.c.status == "pending") | (reports.c.lease_until < wall),
        )
        .order_by(reports.c.id)
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def claim_report(conn: Connection, wall: int, *, lease: int, now: int) -> Claimed | None:
    """Take the oldest report due (pending, or left by a worker whose lease ended) for
    `lease` micros: None when there is none or another worker took it first (the update
    checks the state it read). A report left `MAX_ATTEMPTS` times fails instead."""
    report_id = _due_id(conn, wall)
    if report_id is None:
        return None
    taken = conn.execute(
        update(reports)
        .where(
            reports.c.id == report_id,
            (reports.c.status == "pending")
            | ((reports.c.status == "running") & (reports.c.lease_until < wall)),
        )
        .values(status="running", lease_until=wall + lease, attempts=reports.c.attempts + 1)
        .returning(reports)
    ).one_or_none()
    if taken is None:
        return None
    conn.execute(delete(report_chunks).where(report_chunks.c.report_id == report_id))
    if taken.attempts > MAX_ATTEMPTS:
        reason = f"the report's worker stopped {MAX_ATTEMPTS} times while building it"
        fail_report(conn, report_id, reason, now=now)
        return None
    return Claimed(
        id=int(taken.id),
        account_id=int(taken.account_id),
        type=taken.type,
        name=taken.name,
        format=taken.format,
        request=dict(taken.request or {}),
    )


def renew_lease(conn: Connection, report_id: int, lease_until: int) -> None:
    conn.execute(
        update(reports)
        .where(reports.c.id == report_id, reports.c.status == "running")
        .values(lease_until=lease_until)
    )


def write_chunk(
    conn: Connection, account_id: int, report_id: int, seq: int, data: bytes, lease_until: int
) -> None:
    """One piece of the file, in order; renews the worker's lease. The pieces written
    before leave the writer's page cache first (a file is never read back by it)."""
    shed_cache(conn)
    conn.execute(
        insert(report_chunks).values(account_id=account_id, report_id=report_id, seq=seq, data=data)
    )
    renew_lease(conn, report_id, lease_until)


def finish_report(conn: Connection, report_id: int, *, rows: int, size: int, now: int) -> None:
    conn.execute(
        update(reports)
        .where(reports.c.id == report_id)
        .values(status="ready", rows=rows, size=size, finished_at=now, lease_until=None)
    )
    report_emails.make_due(conn, report_id)


def fail_report(conn: Connection, report_id: int, reason: str, *, now: int) -> None:
    conn.execute(delete(report_chunks).where(report_chunks.c.report_id == report_id))
    conn.execute(
        update(reports)
        .where(reports.c.id == report_id)
        .values(status="failed", reason=reason[:500], finished_at=now, lease_until=None)
    )
    report_emails.make_due(conn, report_id)


def release_report(conn: Connection, report_id: int) -> None:
    """A report its worker let go of unfinished (the server stops): pending again, its
    chunks gone, the attempt not counted."""
    conn.execute(delete(report_chunks).where(report_chunks.c.report_id == report_id))
    conn.execute(
        update(reports)
        .where(reports.c.id == report_id, reports.c.status == "running")
        .values(status="pending", lease_until=None, attempts=reports.c.attempts - 1)
    )


def chunk_count(conn: Connection, account_id: int, report_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                report_chunks.c.account_id == account_id, report_chunks.c.report_id == report_id
            )
        ).scalar_one()
    )


def read_chunk(conn: Connection, account_id: int, report_id: int, seq: int) -> bytes:
    data = conn.execute(
        select(report_chunks.c.data).where(
            report_chunks.c.account_id == account_id,
            report_chunks.c.report_id == report_id,
            report_chunks.c.seq == seq,
        )
    ).scalar_one()
    return bytes(data)


# --- what a people report reads ---------------------------------------------------------


def participation_rows(
    conn: Connection, account_id: int, flow_id: int, version: int | None
) -> Iterator[tuple[Any, ...]]:
    """The flow's participations (of `version`, or all) in id order, with the person's
    externalId: streamed (a server-side cursor on PostgreSQL, SQLite's stepping cursor),
    `STREAM_ROWS` at a time, so a flow of millions never sits in memory. Each is
    `(external_id, version, phase name, exit_reason, entered_at, exited_at, local)`,
    `local` a dict (empty for NULL). Raw driver SQL: a million rows through Core's
    type processing cost twice as long. The rows of other flows between the flow's
    first and last id are read and passed over: a flow's participations lie between
    them, and memory stays flat (see the query's comment)."""
    p = param(dialect_of_conn(conn))
    where = f"account_id = {p} AND flow_id = {p}"
    params: tuple[int, ...] = (account_id, flow_id)
    if version is not None:
        where += f" AND version = {p}"
        params += (version,)
    low, high = conn.exec_driver_sql(
        f"SELECT min(id), max(id) FROM participations WHERE {where}", params
    ).one()
    if low is None:
        return
    # In id order from the primary key, over the flow's first to last id: by the
    # (flow, person) index the database would sort every row first (SQLite in our
    # process's memory); `+flow_id` keeps SQLite's planner off that index.
    sql = (
        "SELECT pe.external_id, pa.version, pa.phase, pa.exit_reason, pa.entered_at, "
        "pa.exited_at, pa.local FROM participations pa JOIN people pe ON pe.id = pa.person_id "
        f"WHERE pa.id BETWEEN {p} AND {p} AND pa.account_id = {p} AND +pa.flow_id = {p}"
        + ("" if version is None else f" AND pa.version = {p}")
    )
    result = conn.execution_options(stream_results=True, max_row_buffer=STREAM_ROWS)
    rows = result.exec_driver_sql(sql + " ORDER BY pa.id", (low, high, *params))
    loads = json.loads
    try:
        for part in rows.partitions(STREAM_ROWS):
            for external_id, number, phase, reason, entered, exited, local in part:
                if local is None:
                    local = {}
                elif isinstance(local, str | bytes):
                    local = loads(local)
                yield (external_id, number, PHASES[phase], reason, entered, exited, local)
    finally:
        rows.close()
