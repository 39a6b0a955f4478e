"""Carries out `call_api` outbox rows and reports each outcome as a result stimulus.

A row is claimed first (status `sending`, a lease of the call's whole time budget), then
called with its outbox id as `Idempotency-Key`, then settled together with the result
stimulus in one commit. A crash between claim and settle leaves the row to be claimed
again when the lease ends: the receiver sees the same key and can drop the duplicate.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection, or_, select, update

from tidings.channels import ApiRequest, ApiResult, CallApi
from tidings.store import journeys
from tidings.store.tables import accounts, outbox

MICROS = 1_000_000
CONCURRENCY = 64


def claim(conn: Connection, now: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(outbox)
        .where(
            outbox.c.kind == "call_api",
            or_(outbox.c.status == "pending", outbox.c.status == "sending"),
            outbox.c.next_attempt_at <= now,
        )
        .order_by(outbox.c.id)
        .limit(limit)
    ).all()
    claimed = []
    for row in rows:
        payload = row.payload
        budget = float(payload.get("timeout") or 10) * (int(payload.get("retries") or 0) + 1)
        lease = now + int((budget + 60) * MICROS)
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(status="sending", attempts=row.attempts + 1, next_attempt_at=lease)
        )
        private = conn.execute(
            select(accounts.c.allow_private_urls).where(accounts.c.id == row.account_id)
        ).scalar()
        claimed.append({**dict(row._mapping), "allow_private": bool(private)})
    return claimed


def settle(
    conn: Connection, now: int, done: list[tuple[dict[str, Any], ApiResult]], *, partitions: int
) -> int:
    items = []
    for row, result in done:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row["id"])
            .values(status="done" if result.outcome == "success" else "failed", done_at=now)
        )
        if row["participation_id"] is None or row["person_id"] is None:
            continue
        items.append(
            {
                "account_id": row["account_id"],
                "partition": row["person_id"] % partitions,
                "person_id": row["person_id"],
                "kind": "result",
                "participation_id": row["participation_id"],
                "payload": {
                    "element": row["element"],
                    "outcome": result.outcome,
                    "data": dict(result.data),
                    "error": result.error,
                },
                "due_at": now,
            }
        )
    journeys.enqueue(conn, items)
    return len(done)


async def call_all(
    client: CallApi, rows: list[dict[str, Any]], *, allow_private: bool
) -> list[tuple[dict[str, Any], ApiResult]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(row: dict[str, Any]) -> tuple[dict[str, Any], ApiResult]:
        payload = row["payload"]
        request = ApiRequest(
            method=payload.get("method") or "POST",
            url=payload["url"],
            headers=payload.get("headers") or {},
            body=payload.get("body"),
            timeout_seconds=float(payload.get("timeout") or 10),
            retries=int(payload.get("retries") or 0),
            idempotency_key=str(row["id"]),
        )
        async with limit:
            result = await client.call(request, allow_private=allow_private or row["allow_private"])
        return row, result

    return list(await asyncio.gather(*(one(r) for r in rows)))
