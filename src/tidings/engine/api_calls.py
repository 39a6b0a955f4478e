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
from sqlalchemy import Connection, select

from tidings.channels import ApiClient, ApiRequest, ApiResult, CallApi
from tidings.engine.figures import EngineFigures
from tidings.store import journeys
from tidings.store.dialect import dialect_of, param
from tidings.store.tables import accounts

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
    """Due calls, leased for their whole time budget. On PostgreSQL the rows are locked
    and rows other workers hold are skipped, so two workers never claim one call."""
    dialect = dialect_of(conn.engine.url.drivername)
    p = param(dialect)
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    rows = conn.exec_driver_sql(
        "SELECT id, account_id, participation_id, flow_id, version, element, person_id, "
        "payload, attempts FROM outbox WHERE kind = 'call_api' "
        f"AND status IN ('pending', 'sending') AND next_attempt_at <= {p}"
        f"{journeys.outbox_sql(owned, partitions)} ORDER BY next_attempt_at, id "
        f"LIMIT {int(limit)}{lock}",
        (now,),
    ).all()
    if not rows:
        return []
    account_ids = sorted({r[1] for r in rows})
    private = dict(
        conn.execute(
            select(accounts.c.id, accounts.c.allow_private_urls).where(
                accounts.c.id.in_(account_ids)
            )
        ).all()
    )
    claimed = []
    leases = []
    for r in rows:
        payload = orjson.loads(r[7]) if isinstance(r[7], str | bytes) else r[7]
        budget = float(payload.get("timeout") or 10) * (int(payload.get("retries") or 0) + 1)
        lease = now + int((budget + 60) * MICROS)
        leases.append((r[8] + 1, lease, r[0]))
        claimed.append(
            {
                "id": r[0],
                "account_id": r[1],
                "participation_id": r[2],
                "flow_id": r[3],
                "version": r[4],
                "element": r[5],
                "person_id": r[6],
                "payload": payload,
                "attempts": r[8] + 1,
                "allow_private": bool(private.get(r[1])),
            }
        )
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = 'sending', attempts = {p}, next_attempt_at = {p} "
        f"WHERE id = {p}",
        leases,
    )
    return claimed


def settle(
    conn: Connection, now: int, done: list[tuple[dict[str, Any], ApiResult]], *, partitions: int
) -> int:
    if not done:
        return 0
    p = param(dialect_of(conn.engine.url.drivername))
    conn.exec_driver_sql(
        f"UPDATE outbox SET status = {p}, done_at = {p} WHERE id = {p}",
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
    journeys.enqueue(conn, items)
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
