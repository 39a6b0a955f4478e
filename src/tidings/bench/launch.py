"""`tidings bench launch --people N`: a predefined audience of N people launched, timed
from the launch request until every first SMS is handed to the sandbox."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

from tidings.bench import raw as raw_limit
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server

FLOW = {
    "name": "Launch bench",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "from": "Bench",
            "text": "Hi {{ person.firstName }}, this is for you",
        }
    ],
}


def call(port: int, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310 - loopback http
        return json.loads(answer.read() or b"null")


def sent(path: Path) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM sandbox_messages").fetchone()[0])


def run(*, people: int) -> dict[str, Any]:
    folder = scratch("tidings-bench-launch-")
    path = folder / "launch.db"
    url = f"sqlite:///{path}"
    setup = populate(url, people_count=people, api_key=BENCH_KEY)
    with running_server(url) as server:
        flow = call(server.port, "POST", "/flows", FLOW)
        started = time.perf_counter()
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        launched = time.perf_counter() - started
        while sent(path) < people:
            time.sleep(0.2)
            if time.perf_counter() - started > 3600:
                raise RuntimeError("gave up after an hour")
        elapsed = time.perf_counter() - started
        rss = server.peak_rss_mb()
    raw = raw_limit.rate("insert", min(people, 200_000))
    return {
        "workload": "launch",
        "people": people,
        "setupSeconds": round(setup, 1),
        "launchRequestSeconds": round(launched, 2),
        "seconds": round(elapsed, 2),
        "peoplePerSecond": round(people / elapsed),
        "rawPerSecond": round(raw),
        "ratioToRaw": round(people / elapsed / raw, 3),
        "serverPeakRssMb": rss,
        "target": "1,000,000 people in <= 20 s, RSS < 1.5 GB",
        "meetsTarget": people / elapsed >= 50_000 and rss < 1536,
    }


def main(people: int) -> None:
    print(json.dumps(run(people=people)), flush=True)
