"""`tidings bench performance`: the flow performance answer of a flow with millions of
participations (issue #17: ≤ 50 ms p99 over 100 calls at 10,000,000).

A flow of three versions is made through the API; then the server stops and the store is
filled straight through the driver, as months of the flow would have left it: the
participations (spread over 90 days and the versions, people entering several times),
their events (the entry event and each SMS's `message.delivered`), and the counters and
hourly roll-up that the engine keeps with every step, computed from those rows by SQL
(store/counts.py says what they are). The server starts again on that store and the
workload times `GET /flows/{id}/performance?by=day` over 90 days (every version, the
channels, the daily series) and one version's answer, each `calls` times.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tidings.bench.client import latency_figures
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server
from tidings.store.tables import EXITED

DAYS = 90
END = datetime(2026, 11, 30, tzinfo=UTC)
BATCH = 100_000
HOUR = 3_600_000_000


def _flow(port: int) -> int:
    doc = {
        "name": "bench performance",
        "entry": {"type": "api"},
        "settings": {"reentry": {"enabled": True}},
        "elements": [
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "wait"},
            {"id": "wait", "type": "wait", "duration": "P1D", "next": "done"},
            {"id": "done", "type": "update_profile", "addTags": ["reached"]},
        ],
    }
    flow = int(call(port, "POST", "/flows", doc)["id"])
    call(port, "POST", f"/flows/{flow}/launch")
    for _ in range(2):  # versions 2 and 3
        call(port, "POST", f"/flows/{flow}/versions")
        call(port, "POST", f"/flows/{flow}/launch")
    return flow


def _fill(path: Path, flow: int, participations: int, people: int) -> float:
    """The rows months of the flow leave (see the module doc); the seconds it took."""
    started = time.perf_counter()
    first = int((END - timedelta(days=DAYS)).timestamp() * 1_000_000)
    span = DAYS * 86_400_000_000
    with closing(sqlite3.connect(path, timeout=60)) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        low = conn.execute("SELECT min(id) FROM people").fetchone()[0]
        for start in range(0, participations, BATCH):
            rows = range(start, min(start + BATCH, participations))
            entered = [first + (n * 7_919_993_113) % span for n in rows]
            conn.executemany(
                "INSERT INTO participations (account_id, flow_id, version, person_id, phase, "
                "element, entered_at, exited_at, exit_reason) "
                "VALUES (1, ?, ?, ?, ?, NULL, ?, ?, 'completed')",
                [
                    (flow, 1 + n % 3, low + n % people, EXITED, at, at + 86_400_000_000)
                    for n, at in zip(rows, entered, strict=True)
                ],
            )
            conn.executemany(
                "INSERT INTO events (account_id, person_id, name, properties, time, received_at) "
                "VALUES (1, ?, ?, ?, ?, ?)",
                [
                    row
                    for n, at in zip(rows, entered, strict=True)
                    for row in (
                        (low + n % people, "CartAbandoned", '{"cartValue": 80}', at, at),
                        (
                            low + n % people,
                            "message.delivered",
                            json.dumps(
                                {
                                    "flow": flow,
                                    "version": 1 + n % 3,
                                    "element": "sms",
                                    "channel": "sms",
                                    "messageId": str(n),
                                }
                            ),
                            at + 5_000_000,
                            at + 5_000_000,
                        ),
                    )
                ],
            )
            conn.commit()
        _rollups(conn, flow)
        conn.commit()
    return time.perf_counter() - started


def _rollups(conn: sqlite3.Connection, flow: int) -> None:
    """What the engine's steps would have counted for these rows (store/counts.py)."""
    conn.execute("DELETE FROM flow_counters WHERE flow_id = ?", (flow,))
    conn.execute("DELETE FROM flow_series WHERE flow_id = ?", (flow,))
    per_version = {
        "profilesInFlow": "count(*)",
        "profilesExited": "count(*)",
        "messagesSent": "count(*)",
        "channel.sms.sent": "count(*)",
        "channel.sms.parts": "count(*)",
        "channel.sms.delivered": "count(*)",
        "people.profilesInFlow": "count(DISTINCT person_id)",
    }
    for name, figure in per_version.items():
        conn.execute(
            "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
            f"SELECT 1, flow_id, version, '', ?, {figure} FROM participations "
            "WHERE flow_id = ? GROUP BY version",
            (name, flow),
        )
    conn.execute(
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
        "SELECT 1, ?, 0, '', 'people.profilesInFlow', count(DISTINCT person_id) "
        "FROM participations WHERE flow_id = ?",
        (flow, flow),
    )
    for element in ("sms", "wait", "done"):
        for name, figure in (
            ("totalEngagements", "count(*)"),
            ("uniqueEngagements", "count(DISTINCT person_id)"),
        ):
            conn.execute(
                "INSERT INTO flow_counters (account_id, flow_id, version, element, name, "
                f"value) SELECT 1, flow_id, version, ?, ?, {figure} FROM participations "
                "WHERE flow_id = ? GROUP BY version",
                (element, name, flow),
            )
        conn.execute(
            "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
            "SELECT 1, ?, 0, ?, 'uniqueEngagements', count(DISTINCT person_id) "
            "FROM participations WHERE flow_id = ?",
            (flow, element, flow),
        )
    # by hour: entries (first ones, as people once), sends, exits a day later
    for name, column in (
        ("people.profilesInFlow", "entered_at"),
        ("messagesSent", "entered_at"),
        ("profilesExited", "exited_at"),
    ):
        conn.execute(
            "INSERT INTO flow_series (account_id, flow_id, version, hour, name, value) "
            f"SELECT 1, flow_id, version, {column} / {HOUR}, ?, count(*) FROM participations "
            f"WHERE flow_id = ? GROUP BY version, {column} / {HOUR}",
            (name, flow),
        )
    conn.execute(
        "INSERT INTO flow_series (account_id, flow_id, version, hour, name, value) "
        "SELECT 1, flow_id, 0, hour, name, sum(value) FROM flow_series "
        "WHERE flow_id = ? AND name LIKE 'people.%' GROUP BY hour, name",
        (flow,),
    )


def _get(port: int, path: str) -> tuple[float, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        headers={"Authorization": f"Bearer {BENCH_KEY}"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        body = answer.read()
    return (time.perf_counter() - started) * 1000, json.loads(body)


def _timed(port: int, path: str, calls: int) -> tuple[dict[str, float], Any]:
    _get(port, path)  # warm: the first call reads the pages from disk
    times: list[float] = []
    answer: Any = None
    for _ in range(calls):
        ms, answer = _get(port, path)
        times.append(ms)
    return latency_figures(times), answer


def run(*, participations: int, people: int, calls: int) -> dict[str, Any]:
    folder = scratch("tidings-bench-performance-")
    path = folder / "performance.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=people, api_key=BENCH_KEY, phones=False)
    with running_server(url) as server:
        flow = _flow(server.port)
    filled = _fill(path, flow, participations, people)
    since = (END - timedelta(days=DAYS)).date().isoformat()
    query = f"/flows/{flow}/performance?by=day&from={since}&to={END.date().isoformat()}"
    with running_server(url) as server:
        every, answer = _timed(server.port, query, calls)
        one, _ = _timed(server.port, query + "&version=2", calls)
    return {
        "workload": "performance",
        "participations": participations,
        "people": people,
        "events": participations * 2,
        "fillSeconds": round(filled, 1),
        "storeMb": round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20),
        "allVersions": every,
        "oneVersion": one,
        "seriesPoints": len(answer["series"]),
        "profilesInFlow": answer["flow"]["profilesInFlow"],
        "smsDelivered": answer["channels"].get("sms", {}).get("delivered"),
        "target": "all versions, channels and a 90-day daily series: p99 <= 50 ms",
    }
