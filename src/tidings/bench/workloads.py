"""Engine workloads: `timers`, `waits`, `events` and `parked` (each prints one JSON line).

They run a real `tidings serve` on a fresh SQLite file. `timers` and `waits` use the
virtual clock, so "a day later" is one `POST /clock/advance` and its duration is what is
measured; people are written straight into the store first (the API is not measured).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import orjson

from tidings.bench import raw as raw_limit
from tidings.bench.client import Connection, post
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, Server, running_server
from tidings.store.tables import EXITED, WAITING

RAW_PEOPLE = 200_000


def _db(path: Path, sql: str) -> int:
    # closed, not only committed (what `with sqlite3.connect()` does): an open connection
    # of ours would keep the server from removing its WAL when it stops
    with closing(sqlite3.connect(path, timeout=60)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _wait_until(check: Any, limit: float = 3600) -> None:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > limit:
            raise RuntimeError("gave up waiting")
        time.sleep(0.1)


def _parked_flow(first: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "bench",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [first],
    }


def _launch_parked(
    port: int, path: Path, first: dict[str, Any], people: int, clock: str = "virtual"
) -> int:
    flow = call(port, "POST", "/flows", _parked_flow(first))
    call(port, "POST", f"/flows/{flow['id']}/launch")
    count = f"SELECT count(*) FROM participations WHERE phase = {WAITING}"
    if clock == "virtual":
        call(port, "POST", "/clock/advance", {"by": "PT0S"})
    else:
        _wait_until(lambda: _db(path, count) >= people)
    parked = _db(path, count)
    if parked != people:
        raise RuntimeError(f"only {parked} of {people} people are waiting")
    return int(flow["id"])


@contextmanager
def _parked_server(
    kind: str, people: int, first: dict[str, Any], clock: str = "virtual", phones: bool = True
) -> Iterator[tuple[Server, Path]]:
    """A populated store, a server on `clock`, and everybody parked at `first`."""
    path = scratch(f"tidings-bench-{kind}-") / f"{kind}.db"
    populate(f"sqlite:///{path}", people_count=people, api_key=BENCH_KEY, phones=phones)
    with running_server(f"sqlite:///{path}", clock=clock) as server:
        call(server.port, "POST", "/event-definitions", {"name": "Ping"})
        _launch_parked(server.port, path, first, people, clock)
        yield server, path


def timers(people: int) -> dict[str, Any]:
    first = {"id": "w", "type": "wait", "duration": "P1D"}
    with _parked_server("timers", people, first) as (server, path):
        started = time.perf_counter()
        call(server.port, "POST", "/clock/advance", {"by": "P1D"})
        elapsed = time.perf_counter() - started
        rss = server.peak_rss_mb()
    woken = _db(path, f"SELECT count(*) FROM participations WHERE phase = {EXITED}")
    return {
        "workload": "timers",
        "people": people,
        "woken": woken,
        "seconds": round(elapsed, 2),
        "wakesPerSecond": round(woken / elapsed),
        **_raw("update", people, woken / elapsed),
        "serverPeakRssMb": rss,
        "target": 50_000,
        "meetsTarget": woken / elapsed >= 50_000,
    }


def waits(people: int) -> dict[str, Any]:
    """The real clock, as in production: the engine (its own process) matches events while
    they are still being posted; the figure ends when the last person has moved on."""
    first = {"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P30D"}
    exited = f"SELECT count(*) FROM participations WHERE phase = {EXITED}"
    with _parked_server("waits", people, first, clock="real") as (server, path):
        bodies = [
            orjson.dumps(
                [
                    {"person": {"externalId": f"p{i}"}, "name": "Ping"}
                    for i in range(start, min(start + 1000, people))
                ]
            )
            for start in range(0, people, 1000)
        ]
        started = time.perf_counter()
        asyncio.run(_post_all(server.port, bodies, 4))
        _wait_until(lambda: _db(path, exited) >= people, 600)
        elapsed = time.perf_counter() - started
        rss = server.peak_rss_mb()
    matched = _db(path, f"SELECT count(*) FROM participations WHERE phase = {EXITED}")
    return {
        "workload": "waits",
        "people": people,
        "matched": matched,
        "seconds": round(elapsed, 2),
        "matchesPerSecond": round(matched / elapsed),
        **_raw("update", people, matched / elapsed),
        "serverPeakRssMb": rss,
        "target": 30_000,
        "meetsTarget": matched / elapsed >= 30_000,
    }


async def _post_all(port: int, bodies: list[bytes], concurrency: int) -> None:
    queue = list(reversed(bodies))

    async def worker() -> None:
        conn = Connection("127.0.0.1", port)
        await conn.open()
        while queue:
            status, answer = await conn.request(
                post("/api/v1/events", queue.pop(), BENCH_KEY, "127.0.0.1")
            )
            if status != 202:
                raise RuntimeError(f"{status} {answer[:200]!r}")
        await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


EVENTS_DEFINITION = {"name": "CartAbandoned", "properties": {"cartValue": "decimal"}}
EVENTS_FLOW = {
    "name": "events bench",
    "entry": {"type": "event", "event": "CartAbandoned", "where": "event.cartValue > 0"},
    "elements": [
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "big", "when": "event.cartValue > 50"}],
            "next": {"big": "sms", "otherwise": "sms"},
        },
        {"id": "sms", "type": "send_sms", "from": "Bench", "text": "Your cart"},
    ],
}


def launch_events_flow(port: int) -> int:
    """Define `CartAbandoned`, create and launch the events workload's flow; its id."""
    call(port, "POST", "/event-definitions", EVENTS_DEFINITION)
    flow = call(port, "POST", "/flows", EVENTS_FLOW)
    call(port, "POST", f"/flows/{flow['id']}/launch")
    return int(flow["id"])


def cart_value(i: int) -> int:
    """The i-th event's `cartValue`: every one enters, half go the `big` way."""
    return i % 100 + 1


def events(count: int) -> dict[str, Any]:
    """Event-triggered entries end to end: condition, branch, send."""
    path = scratch("tidings-bench-events-") / "e.db"
    populate(f"sqlite:///{path}", people_count=count, api_key=BENCH_KEY)  # phones to send to
    with running_server(f"sqlite:///{path}") as server:
        launch_events_flow(server.port)
        bodies = [
            orjson.dumps(
                [
                    {
                        "person": {"externalId": f"p{i}"},
                        "name": "CartAbandoned",
                        "properties": {"cartValue": cart_value(i)},
                    }
                    for i in range(start, min(start + 1000, count))
                ]
            )
            for start in range(0, count, 1000)
        ]
        started = time.perf_counter()
        asyncio.run(_post_all(server.port, bodies, 4))
        _wait_until(lambda: _db(path, "SELECT count(*) FROM sandbox_messages") >= count, 600)
        elapsed = time.perf_counter() - started
        rss = server.peak_rss_mb()
    return {
        "workload": "events",
        "events": count,
        "seconds": round(elapsed, 2),
        "eventsPerSecond": round(count / elapsed),
        **_raw("insert", count, count / elapsed),
        "serverPeakRssMb": rss,
        "target": 20_000,
        "meetsTarget": count / elapsed >= 20_000,
    }


def parked(people: int) -> dict[str, Any]:
    """Everybody waits for an event (a year's timeout); the figure is the store's size on
    disk, every file of it, after the server stopped. Waiting people need no phone, so the
    population has none (a phone costs ~100 B a person in contacts and their two indexes);
    the profile is a people row and a tag."""
    first = {"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P365D"}
    with _parked_server("parked", people, first, phones=False) as (server, path):
        rss = server.peak_rss_mb()
    size = sum(os.path.getsize(p) for p in path.parent.iterdir())
    raw = raw_limit.parked_bytes(min(people, RAW_PEOPLE))
    return {
        "workload": "parked",
        "people": people,
        "storeBytes": size,
        "storeMbPerMillion": round(size / people * 1_000_000 / 2**20, 1),
        "bytesPerPerson": round(size / people),
        "rawParticipationBytesPerPerson": round(raw),
        "ratioToRaw": round(size / people / raw, 2),
        "serverPeakRssMb": rss,
        "target": "RSS flat in N; <= 2 GB on disk for 10M",
    }


def _raw(kind: raw_limit.Kind, people: int, figure: float) -> dict[str, Any]:
    """The raw limit of the same rows (bench/raw.py), at up to RAW_PEOPLE people: the
    rates are per person, and a raw store of a million would double the run."""
    raw = raw_limit.rate(kind, min(people, RAW_PEOPLE))
    return {"rawPerSecond": round(raw), "ratioToRaw": round(figure / raw, 3)}


def main(kind: str, n: int) -> None:
    run = {"timers": timers, "waits": waits, "events": events, "parked": parked}[kind]
    print(json.dumps(run(n)), flush=True)
