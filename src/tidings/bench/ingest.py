"""`tidings bench ingest`: events per second through a real server, and the store's raw limit.

The server runs in its own process on a fresh SQLite file; the client posts prebuilt
batches over keep-alive connections; every answer comes only after its commit. Then the
same rows go straight into a fresh store with the driver's `executemany`, one commit per
request-sized batch, so the HTTP figure is also a ratio to what the database alone does.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import orjson
from sqlalchemy import insert

from tidings.bench.client import Connection, post
from tidings.bench.scratch import scratch
from tidings.bench.server import running_server
from tidings.store.database import Database
from tidings.store.events import insert_events
from tidings.store.tables import accounts, people

PEOPLE = 10_000


def _payloads(total: int, batch: int) -> list[bytes]:
    bodies = []
    for start in range(0, total, batch):
        items = [
            {
                "person": {"externalId": f"person-{i % PEOPLE}"},
                "name": "CartAbandoned",
                "properties": {"cartValue": (i % 100) + 0.5, "currency": "EUR"},
            }
            for i in range(start, min(start + batch, total))
        ]
        bodies.append(orjson.dumps(items[0] if batch == 1 else items))
    return bodies


async def _drive(
    host: str, port: int, key: str, bodies: list[bytes], concurrency: int
) -> tuple[float, list[float]]:
    queue = list(reversed(bodies))
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        conn = Connection(host, port)
        await conn.open()
        try:
            while queue:
                raw = post("/api/v1/events", queue.pop(), key, host)
                started = time.perf_counter()
                status, answer = await conn.request(raw)
                latencies.append(time.perf_counter() - started)
                if status != 202:
                    errors.append(f"{status} {answer[:200]!r}")
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return elapsed, latencies


async def _define(host: str, port: int, key: str) -> None:
    conn = Connection(host, port)
    await conn.open()
    body = orjson.dumps(
        {"name": "CartAbandoned", "properties": {"cartValue": "decimal", "currency": "text"}}
    )
    status, answer = await conn.request(post("/api/v1/event-definitions", body, key, host))
    await conn.close()
    if status != 201:
        raise RuntimeError(f"could not define the event: {status} {answer!r}")


def raw_limit(total: int, batch: int) -> float:
    """Rows of the same shape, `executemany` straight into a fresh store, one commit per batch."""
    folder = scratch("tidings-bench-raw-")
    db = Database(url=f"sqlite:///{folder / 'raw.db'}")
    db.migrate()
    with db.write_engine.begin() as conn:
        account = conn.execute(
            insert(accounts)
            .values(name="raw", timezone="UTC", allow_private_urls=False, created_at=0)
            .returning(accounts.c.id)
        ).scalar_one()
        conn.execute(
            insert(people),
            [
                {
                    "account_id": account,
                    "external_id": f"person-{i}",
                    "attributes": {},
                    "created_at": 0,
                    "updated_at": 0,
                }
                for i in range(PEOPLE)
            ],
        )
    properties = orjson.dumps({"cartValue": 1.5, "currency": "EUR"}).decode()
    rows = [(account, (i % PEOPLE) + 1, "CartAbandoned", properties, i, i) for i in range(total)]
    started = time.perf_counter()
    for start in range(0, total, batch):
        with db.write_engine.begin() as conn:
            insert_events(conn, rows[start : start + batch])
    elapsed = time.perf_counter() - started
    db.close()
    return total / elapsed


def run(*, events: int, batch: int, concurrency: int) -> dict[str, Any]:
    bodies = _payloads(events, batch)
    with running_server() as server:
        asyncio.run(_define(server.host, server.port, server.key))
        elapsed, latencies = asyncio.run(
            _drive(server.host, server.port, server.key, bodies, concurrency)
        )
        rss = server.peak_rss_mb()
    latencies.sort()
    rate = events / elapsed
    # The raw limit is measured with the same batch size, capped so batch=1 stays quick.
    raw_total = events if batch > 1 else min(events, 20_000)
    raw = raw_limit(raw_total, batch)
    target = 50_000 if batch > 1 else 5_000
    return {
        "workload": "ingest",
        "events": events,
        "batch": batch,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "eventsPerSecond": round(rate),
        "p50Ms": round(statistics.median(latencies) * 1000, 2),
        "p99Ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "serverPeakRssMb": rss,
        "rawEventsPerSecond": round(raw),
        "ratioToRaw": round(rate / raw, 3),
        "target": target,
        "meetsTarget": rate >= target,
    }


def main(events: int, batch: int, concurrency: int) -> None:
    print(json.dumps(run(events=events, batch=batch, concurrency=concurrency)), flush=True)
