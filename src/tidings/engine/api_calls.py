"""Carries out `call_api` outbox rows and reports each outcome as a result stimulus.

A row is claimed first (status `sending`, a lease of the call's whole time budget), then
called with its outbox id as `Idempotency-Key`, then settled together with the result
stimulus in one commit. A crash between claim and settle leaves the row to be claimed
again when the lease ends: the receiver sees the same key and can drop the duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection

from tidings.channels import ApiClient, ApiRequest, ApiResult, CallApi
from tidings.engine.figures import EngineFigures
from tidings.store import changes, outbox

MICROS = 1_000_000
CONCURRENCY = 64


def claim(
    conn: Connection,
    now: int,
    limit: int = 500,
    *,
    owned: frozenset[int] | None = None,
    partitions: int = 1,
) -> list[dict[str, Any]]:
    """Due calls, leased for their whole time budget (`outbox.due_calls`: on PostgreSQL
    two workers never claim one call)."""
    rows = outbox.due_calls(conn, now, limit=limit, owned=owned, partitions=partitions)
    if not rows:
        return []
    private = outbox.private_url_accounts(conn, (r.account_id for r in rows))
    claimed = []
    leases = []
    for r in rows:
        payload = orjson.loads(r.payload) if isinstance(r.payload, str | bytes) else r.payload
        budget = float(payload.get("timeout") or 10) * (int(payload.get("retries") or 0) + 1)
        lease = now + int((budget + 60) * MICROS)
        leases.append((r.attempts + 1, lease, r.id))
        claimed.append(
            {
                "id": r.id,
                "account_id": r.account_id,
                "participation_id": r.participation_id,
                "flow_id": r.flow_id,
                "version": r.version,
                "element": r.element,
                "person_id": r.person_id,
                "payload": payload,
                "attempts": r.attempts + 1,
                "allow_private": private.get(r.account_id, False),
            }
        )
    outbox.lease_calls(conn, leases)
    return claimed


def settle(
    conn: Connection, now: int, done: list[tuple[dict[str, Any], ApiResult]], *, partitions: int
) -> int:
    if not done:
        return 0
    outbox.finish_calls(
        conn,
        [
            ("done" if result.outcome == "success" else "failed", now, row["id"])
            for row, result in done
        ],
    )
    items = []
    for row, result in done:
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
    changes.enqueue(conn, items)
    return len(done)


def count_failures(figures: EngineFigures, done: list[tuple[dict[str, Any], ApiResult]]) -> None:
    """Count the failed calls for /metrics: `http` when the endpoint answered an error
    status, `transport` when there was no usable answer."""
    http = transport = 0
    for _row, result in done:
        if result.outcome != "success":
            if result.status is None:
                transport += 1
            else:
                http += 1
    figures.provider_errors("call_api", "http", http)
    figures.provider_errors("call_api", "transport", transport)


async def call_all(
    client: ApiClient, rows: list[dict[str, Any]], *, allow_private: bool
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
    connections are reused across batches (a client per batch halved throughput).
    `client`: makes the provider, in that loop (None: the real `CallApi`; the
    composition root chooses)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        virtual: bool,
        client: Callable[[], ApiClient] | None = None,
    ) -> None:
        import threading

        self.allow_private = allow_private
        self._virtual = virtual
        self._make = client
        self._loop = asyncio.new_event_loop()
        self._client: ApiClient | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tidings-calls", daemon=True
        )
        self._thread.start()

    async def _no_wait(self, _seconds: float) -> None:
        return None

    async def _call(self, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], ApiResult]]:
        if self._client is None:
            if self._make is not None:
                self._client = self._make()
            else:
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
