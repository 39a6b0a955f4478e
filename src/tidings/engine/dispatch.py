"""The outbox dispatcher: pending rows become provider calls; outcomes come back as
stimuli (results) and person events (`message.delivered` ...), due when the provider
reports them. A row and its consequences commit together, so nothing is sent twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.sandbox import SandboxSettings, decide
from tidings.store import journeys, sandbox

MICROS = 1_000_000


def dispatch_once(
    conn: Connection,
    now: int,
    *,
    partitions: int,
    limit: int = 5000,
    owned: frozenset[int] | None = None,
) -> int:
    rows = journeys.pending_sends(conn, now, limit, owned, partitions)
    if not rows:
        return 0
    settings: dict[int, SandboxSettings] = {}
    new_inbox: list[dict[str, Any]] = []
    done: list[int] = []
    sent: list[dict[str, Any]] = []
    for row in rows:
        account = row.account_id
        if account not in settings:
            settings[account] = sandbox.read_settings(conn, account)
        payload = row.payload
        outcome = decide(row.id, settings[account])
        sent.append(
            dict(
                id=row.id,
                account_id=account,
                channel=row.channel or "sms",
                to=payload["to"],
                sender=payload.get("from"),
                content=payload.get("content") or {},
                parts=int(payload.get("parts") or 1),
                status=outcome.reports[0],
                sent_at=now,
                flow_id=row.flow_id,
                version=row.version,
                element=row.element,
                person_id=row.person_id,
            )
        )
        done.append(row.id)
        if row.kind != "message" or row.person_id is None:
            continue
        due = now + int(outcome.delay.total_seconds() * MICROS)
        partition = row.person_id % partitions
        for kind in outcome.reports:
            new_inbox.append(
                {
                    "account_id": account,
                    "partition": partition,
                    "person_id": row.person_id,
                    "kind": "event",
                    "payload": {
                        "name": f"message.{kind}",
                        "properties": {
                            "flow": row.flow_id,
                            "version": row.version,
                            "element": row.element,
                            "channel": row.channel,
                            "messageId": str(row.id),
                        },
                        "time": due,
                        "store": True,
                    },
                    "due_at": due,
                }
            )
        if payload.get("wantsResult") and row.participation_id is not None:
            new_inbox.append(
                {
                    "account_id": account,
                    "partition": partition,
                    "person_id": row.person_id,
                    "kind": "result",
                    "participation_id": row.participation_id,
                    "payload": {
                        "element": row.element,
                        "outcome": _result(row.channel, outcome.reports[0]),
                    },
                    "due_at": due,
                }
            )
    sandbox.record(conn, sent)
    for start in range(0, len(done), 500):
        listed = ", ".join(str(int(i)) for i in done[start : start + 500])
        conn.exec_driver_sql(
            f"UPDATE outbox SET status = 'done', done_at = {int(now)} WHERE id IN ({listed})"
        )
    journeys.enqueue(conn, new_inbox)
    return len(done)


def _result(channel: str | None, report: str) -> str:
    """A voice call is answered or not; other sends are delivered or failed."""
    if channel == "voice":
        return "answered" if report == "delivered" else "notAnswered"
    return report
