"""`tidings bench report`: the people report of a flow with a million participations
(issue #17: written in ≤ 30 s as CSV, ≤ 90 s as XLSX, with a memory that does not grow
with the row count).

For each size (100,000 rows, then `--rows`): people and a flow are made (the flow
through the API), then the server stops and the flow's participations are written
straight into the SQLite file (one a person, in id order; a tenth met the goal with a
value, a tenth still wait), as the engine would have left them. The server starts
again on that store; the workload asks for the participants report through the API
`runs` times and times each from `POST /reports` until `GET /reports/{id}` says ready,
downloads the last file (its row count checked), and reads the server process's peak
RSS (VmHWM) after the reports, beside its RSS before the first: at 100,000 rows and at
`rows`, so a memory that grows with the rows shows as a difference between the two.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server
from tidings.store.tables import EXITED, WAITING

SMALL = 100_000
BATCH = 100_000
START = 1_767_571_200_000_000  # 2026-01-05T00:00:00Z, micros
TARGET_SECONDS = {"csv": 30, "xlsx": 90}


def _flow(port: int) -> int:
    doc = {
        "name": "bench report",
        "entry": {"type": "api"},
        "settings": {"goal": {"event": "PurchaseFinished", "value": "event.amount"}},
        "elements": [{"id": "wait", "type": "wait", "duration": "P1D"}],
    }
    call(
        port,
        "POST",
        "/event-definitions",
        {"name": "PurchaseFinished", "properties": {"amount": "decimal"}},
    )
    flow = int(call(port, "POST", "/flows", doc)["id"])
    call(port, "POST", f"/flows/{flow}/launch")
    return flow


def _fill(path: Path, flow: int, rows: int) -> float:
    """`rows` participations of the flow, one a person (see the module doc)."""
    started = time.perf_counter()
    with closing(sqlite3.connect(path, timeout=60)) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        low = conn.execute("SELECT min(id) FROM people").fetchone()[0]
        for first in range(0, rows, BATCH):
            batch = []
            for n in range(first, min(first + BATCH, rows)):
                entered = START + n * 1_000_000
                waiting = n % 10 == 9
                local = (
                    json.dumps({"goal": "2026-01-06T00:00:00Z", "goalValue": n % 100 + 0.5})
                    if n % 10 == 3
                    else None
                )
                batch.append(
                    (
                        flow,
                        low + n,
                        WAITING if waiting else EXITED,
                        "wait" if waiting else None,
                        entered,
                        None if waiting else entered + 86_400_000_000,
                        None if waiting else "completed",
                        local,
                        entered + 86_400_000_000 if waiting else None,
                    )
                )
            conn.executemany(
                "INSERT INTO participations (account_id, flow_id, version, person_id, phase, "
                "element, entered_at, exited_at, exit_reason, local, wake_at) "
                "VALUES (1, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            conn.commit()
    return time.perf_counter() - started


def _status(pid: int) -> dict[str, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def _download(port: int, report: int) -> tuple[int, int]:
    """The file's bytes and lines, read in pieces (never whole in memory here either)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/reports/{report}/file",
        headers={"Authorization": f"Bearer {BENCH_KEY}"},
    )
    size = lines = 0
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310 - loopback
        while piece := answer.read(1 << 20):
            size += len(piece)
            lines += piece.count(b"\n")
    return size, lines


def _one_size(rows: int, fmt: str, runs: int) -> dict[str, Any]:
    folder = scratch("tidings-bench-report-")
    path = folder / "report.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=rows, api_key=BENCH_KEY, phones=False)
    with running_server(url) as server:
        flow = _flow(server.port)
    filled = _fill(path, flow, rows)
    seconds: list[float] = []
    with running_server(url) as server:
        pid = server.process.pid
        before = _status(pid)["VmRSS"]
        report: dict[str, Any] = {}
        for _ in range(runs):
            started = time.perf_counter()
            body = {"type": "participants", "flow": flow, "format": fmt, "name": "people"}
            report = call(server.port, "POST", "/reports", body)
            while report["status"] == "pending":
                time.sleep(0.05)
                report = call(server.port, "GET", f"/reports/{report['id']}")
            seconds.append(time.perf_counter() - started)
            if report["status"] != "ready":
                raise RuntimeError(f"the report failed: {report.get('reason')}")
        peak = _status(pid)["VmHWM"]
        size, lines = _download(server.port, report["id"])
    if report["rows"] != rows or (fmt == "csv" and lines != rows + 1):
        raise RuntimeError(f"the report has {report['rows']} rows ({lines} lines), not {rows}")
    return {
        "rows": rows,
        "fill_seconds": round(filled, 1),
        "seconds": [round(s, 2) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 2),
        "rows_per_second": round(rows / statistics.median(seconds)),
        "file_mb": round(size / 2**20, 1),
        "rss_before_mb": before,
        "peak_rss_mb": peak,
    }


def run(*, rows: int, fmt: str, runs: int) -> dict[str, Any]:
    sizes = [SMALL, rows] if rows > SMALL else [rows]
    results = [_one_size(n, fmt, runs) for n in sizes]
    last = results[-1]
    return {
        "workload": "report",
        "format": fmt,
        "rows": rows,
        "runs": runs,
        "median_seconds": last["median_seconds"],
        "target_seconds": TARGET_SECONDS[fmt],
        "peak_rss_mb": {str(r["rows"]): r["peak_rss_mb"] for r in results},
        "sizes": results,
    }
