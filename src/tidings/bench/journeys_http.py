"""`tidings bench journeys-http`: the journey other tools are compared on.

A running `tidings serve` (on SQLite, or with `--database postgresql` on a throwaway
PostgreSQL cluster, `bench/postgres.py`); a flow on `CartAbandoned` whose `segment` sends
the half with `cartValue > 50` to a `call_api` POST to a loopback sink that records
arrival times; 32 clients post one event per request (each about a new person) for
`--seconds`, or until `--events` are posted. Prints journeys/s completed (people who
exited the flow: sink arrivals plus the half that sends nothing), event-to-sink latency,
and the `timeline`: journeys/s in each 5 s of the run, so a rate that decays shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from typing import Any

import orjson
import psutil
from sqlalchemy.engine import make_url

from tidings.bench import raw as raw_limit
from tidings.bench.client import Connection, post
from tidings.bench.launch import call
from tidings.bench.postgres import cluster
from tidings.bench.server import running_server

BUCKET = 5.0  # seconds of a timeline bucket


class Sink:
    """A tiny HTTP server that answers 200 and records when each journey arrived."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.arrivals = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                self.arrivals += 1
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self.latencies.append(time.time() - float(orjson.loads(body)["t"]))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


def flow(port: int) -> dict[str, Any]:
    return {
        "name": "journeys-http",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"reentry": {"enabled": True}},
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [{"name": "big", "when": "event.cartValue > 50"}],
                "next": {"big": "api"},
            },
            {
                "id": "api",
                "type": "call_api",
                "method": "POST",
                "url": f"http://127.0.0.1:{port}/journeys",
                "headers": {"Content-Type": "application/json"},
                "body": '{"t": {{ event.sentAt }}}',
                "retries": 0,
            },
        ],
    }


async def _load(
    port: int, key: str, seconds: float, clients: int, rate: float | None, events: int | None
) -> int:
    """Post for `seconds`, or until `events` are posted (when given)."""
    sent = 0
    taken = 0
    stop = time.perf_counter() + (float("inf") if events is not None else seconds)
    interval = None if rate is None else clients / rate

    def more() -> bool:
        nonlocal taken
        if time.perf_counter() >= stop or (events is not None and taken >= events):
            return False
        taken += 1
        return True

    async def client(n: int) -> None:
        nonlocal sent
        conn = Connection("127.0.0.1", port)
        await conn.open()
        i = 0
        next_at = time.perf_counter()
        while more():
            body = orjson.dumps(
                {
                    "person": {"externalId": f"c{n}-{i}"},
                    "name": "CartAbandoned",
                    "properties": {"cartValue": 80 if i % 2 == 0 else 20, "sentAt": time.time()},
                }
            )
            status, answer = await conn.request(post("/api/v1/events", body, key, "127.0.0.1"))
            if status != 202:
                raise RuntimeError(f"{status} {answer[:200]!r}")
            sent += 1
            i += 1
            if interval is not None:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await conn.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return sent


def _tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process and its live children: a figure that
    holds on a shared machine, where journeys/s follow whatever else runs."""
    if pid is None:
        return 0.0
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        return 0.0
    return total


def _postmaster(url: str | None) -> int | None:
    """The pid of the PostgreSQL server a bench URL names (its cluster's postmaster)."""
    if url is None:
        return None
    port = f"-p {make_url(url).port}"
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and port in cmdline:
            return int(proc.pid)
    return None


class Timeline:
    """Journeys completed (the flow's exits) sampled every `BUCKET` seconds of the run."""

    def __init__(self, port: int, flow_id: int) -> None:
        self.port = port
        self.flow_id = flow_id
        self.samples: list[tuple[float, int]] = []

    async def exited(self) -> int:
        stats = await asyncio.to_thread(
            call, self.port, "GET", f"/flows/{self.flow_id}/performance"
        )
        return int(stats["flow"]["profilesExited"])

    async def sample(self, started: float) -> None:
        """Every BUCKET seconds from `started` (cancelled when the run ends)."""
        self.samples.append((started, 0))
        n = 1
        while True:
            await asyncio.sleep(max(0.0, started + n * BUCKET - time.perf_counter()))
            exited = await self.exited()
            self.samples.append((time.perf_counter(), exited))
            n += 1

    def rates(self) -> list[float]:
        """Journeys/s of each full bucket (by the samples' own instants)."""
        pairs = zip(self.samples, self.samples[1:], strict=False)
        return [round((e1 - e0) / (t1 - t0), 1) for (t0, e0), (t1, e1) in pairs]


async def _run(
    seconds: float, clients: int, rate: float | None, events: int | None, database: str
) -> dict[str, Any]:
    if database == "postgresql":
        with cluster(durable=True) as url:
            return await _run_on(url, seconds, clients, rate, events, database)
    return await _run_on(None, seconds, clients, rate, events, database)


async def _run_on(
    url: str | None,
    seconds: float,
    clients: int,
    rate: float | None,
    events: int | None,
    database: str,
) -> dict[str, Any]:
    sink = Sink()
    await sink.start()
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1"}
    with running_server(url, env=env) as server:
        await asyncio.to_thread(
            call,
            server.port,
            "POST",
            "/event-definitions",
            {"name": "CartAbandoned", "properties": {"cartValue": "decimal", "sentAt": "decimal"}},
        )
        created = await asyncio.to_thread(call, server.port, "POST", "/flows", flow(sink.port))
        await asyncio.to_thread(call, server.port, "POST", f"/flows/{created['id']}/launch")
        timeline = Timeline(server.port, created["id"])
        postmaster = _postmaster(url)
        cpu_server, cpu_database = _tree_cpu(server.process.pid), _tree_cpu(postmaster)
        started = time.perf_counter()
        sampler = asyncio.create_task(timeline.sample(started))
        sent = await _load(server.port, server.key, seconds, clients, rate, events)
        exited = 0
        for _ in range(6000):
            exited = await timeline.exited()
            if exited >= sent:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        cpu_server = _tree_cpu(server.process.pid) - cpu_server
        cpu_database = _tree_cpu(postmaster) - cpu_database
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        rss = server.peak_rss_mb()
    await sink.stop()
    latencies = sorted(sink.latencies)
    raw = await asyncio.to_thread(raw_limit.rate, "journey", max(min(exited, 200_000), 1))
    buckets = timeline.rates()
    median = statistics.median(buckets) if buckets else None
    return {
        "workload": "journeys-http",
        "database": database,
        "clients": clients,
        "offeredRate": rate,
        "eventsSent": sent,
        "journeysCompleted": exited,
        "sinkArrivals": sink.arrivals,
        "seconds": round(elapsed, 2),
        "journeysPerSecond": round(exited / elapsed),
        "bucketSeconds": BUCKET,
        "timeline": buckets,
        "medianBucket": median,
        "minBucketToMedian": round(min(buckets) / median, 2) if buckets and median else None,
        "rawPerSecond": round(raw),
        "ratioToRaw": round(exited / elapsed / raw, 3),
        "p50Ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99Ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "serverPeakRssMb": rss,
        # CPU a journey costs: the server (API and engine, with its engine process on
        # SQLite) and, on PostgreSQL, the database's processes
        "serverCpuMsPerJourney": round(cpu_server * 1000 / max(exited, 1), 3),
        "databaseCpuMsPerJourney": (
            round(cpu_database * 1000 / max(exited, 1), 3) if url is not None else None
        ),
        "target": (
            ">= 1,500 journeys/s; no 5-s bucket below 80% of the median"
            if database == "postgresql"
            else ">= 3,000 journeys/s; p99 <= 100 ms at an offered 1,000 events/s"
        ),
    }


def main(
    seconds: float,
    clients: int,
    rate: float | None,
    events: int | None = None,
    database: str = "sqlite",
) -> None:
    print(json.dumps(asyncio.run(_run(seconds, clients, rate, events, database))), flush=True)
