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


class Caller:
    """One long-lived event loop and HTTP client in its own thread, so keep-alive
    connections are reused across batches (a client per batch halved throughput)."""

    def __init__(self, *, allow_private: bool, virtual: bool) -> None:
        import threading

        self.allow_private = allow_private
        self._virtual = virtual
        self._loop = asyncio.new_event_loop()
        self._client: CallApi | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tidings-calls", daemon=True
        )
        self._thread.start()

    async def _no_wait(self, _seconds: float) -> None:
        return None

    async def _call(self, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], ApiResult]]:
        if self._client is None:
            sleep = self._no_wait if self._virtual else asyncio.sleep
            self._client = CallApi(allow_private=self.allow_private, sleep=sleep)
        return await call_all(self._client, rows, allow_private=self.allow_private)

    def submit(self, rows: list[dict[str, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(self._call(rows), self._loop)

    def close(self) -> None:
        async def shut() -> None:
            if self._client is not None:
                await self._client.aclose()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()
