"""The emails reports are sent by (`report_emails`; services/report_emails.py sends them).

A row is made with its report (`create`), `waiting` while the report is built; when the
report is ready or failed (`store.reports.finish_report` / `fail_report`) it becomes
`pending`, due at once. A worker claims a due one for a lease (`claim`: wall-clock
micros, as report leases), then marks it `sent`, `failed`, or `pending` again later
(`send_again`: a transient failure, retried with backoff). A worker that stopped
mid-send leaves it to be claimed again when its lease ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from tidings.store.tables import report_emails

REASON_LENGTH = 500


@dataclass(frozen=True)
class ClaimedEmail:
    """A report's email a worker now sends (its `attempts` counts this one)."""

    report_id: int
    account_id: int
    recipients: tuple[str, ...]
    sender: str | None
    connection_id: int | None
    attempts: int
    outcomes: dict[str, Any]  # {address: {"status", "reason"}} of the attempts before


def create(
    conn: Connection,
    account_id: int,
    report_id: int,
    *,
    recipients: Sequence[str],
    sender: str | None,
    connection_id: int,
) -> None:
    conn.execute(
        insert(report_emails).values(
            account_id=account_id,
            report_id=report_id,
            recipients=list(recipients),
            sender=sender,
            connection_id=connection_id,
            status="waiting",
            attempts=0,
        )
    )


def _view(row: Any) -> dict[str, Any]:
    status = row.status if row.status in ("sent", "failed") else "pending"
    return {
        "to": list(row.recipients or ()),
        "from": row.sender,
        "status": status,
        "reason": row.reason if status == "failed" else None,
    }


def views_of(conn: Connection, account_id: int, report_ids: Sequence[int]) -> dict[int, Any]:
    """The `email` of each of these reports that has one: `{"to", "from", "status":
    "pending" | "sent" | "failed", "reason"}`."""
    if not report_ids:
        return {}
    rows = conn.execute(
        select(report_emails).where(
            report_emails.c.account_id == account_id,
            report_emails.c.report_id.in_(sorted(set(report_ids))),
        )
    ).all()
    return {int(r.report_id): _view(r) for r in rows}


def make_due(conn: Connection, report_id: int) -> None:
    """The report is done (ready or failed): its email, if it has one, is due now."""
    conn.execute(
        update(report_emails)
        .where(report_emails.c.report_id == report_id, report_emails.c.status == "waiting")
        .values(status="pending", due_at=None)
    )


def _due_clause(wall: int) -> Any:
    c = report_emails.c
    return or_(
        (c.status == "pending") & (c.due_at.is_(None) | (c.due_at <= wall)),
        (c.status == "sending") & (c.lease_until < wall),
    )


def has_due(conn: Connection, wall: int) -> bool:
    found = conn.execute(
        select(report_emails.c.report_id)
        .where(report_emails.c.status.in_(("pending", "sending")), _due_clause(wall))
        .limit(1)
    ).scalar()
    return found is not None


def claim(conn: Connection, wall: int, *, lease: int) -> ClaimedEmail | None:
    """The oldest email due, held for `lease` micros (None: none, or another worker took
    it first: the update checks the state it read)."""
    report_id = conn.execute(
        select(report_emails.c.report_id)
        .where(report_emails.c.status.in_(("pending", "sending")), _due_clause(wall))
        .order_by(report_emails.c.report_id)
        .limit(1)
    ).scalar()
    if report_id is None:
        return None
    taken = conn.execute(
        update(report_emails)
        .where(report_emails.c.report_id == report_id, _due_clause(wall))
        .values(status="sending", lease_until=wall + lease, attempts=report_emails.c.attempts + 1)
        .returning(report_emails)
    ).one_or_none()
    if taken is None:
        return None
    return ClaimedEmail(
        report_id=int(taken.report_id),
        account_id=int(taken.account_id),
        recipients=tuple(taken.recipients or ()),
        sender=taken.sender,
        connection_id=None if taken.connection_id is None else int(taken.connection_id),
        attempts=int(taken.attempts),
        outcomes=dict(taken.outcomes or {}),
    )


def finish(
    conn: Connection,
    report_id: int,
    *,
    status: str,
    outcomes: Mapping[str, Any],
    reason: str | None,
    now: int,
) -> None:
    """`sent` (to every recipient) or `failed` (to some: the reason says which)."""
    conn.execute(
        update(report_emails)
        .where(report_emails.c.report_id == report_id)
        .values(
            status=status,
            outcomes=dict(outcomes),
            reason=None if reason is None else reason[:REASON_LENGTH],
            sent_at=now,
            lease_until=None,
            due_at=None,
        )
    )


def send_again(
    conn: Connection, report_id: int, *, outcomes: Mapping[str, Any], due_at: int, reason: str
) -> None:
    """A transient failure: pending again from `due_at` (wall micros) for the recipients
    without an outcome yet; the last attempt's reason kept."""
    conn.execute(
        update(report_emails)
        .where(report_emails.c.report_id == report_id)
        .values(
            status="pending",
            outcomes=dict(outcomes),
            due_at=due_at,
            lease_until=None,
            reason=reason[:REASON_LENGTH],
        )
    )
