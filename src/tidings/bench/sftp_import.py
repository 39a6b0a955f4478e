"""`tidings bench sftp-import --rows N`: a CSV file of N people (externalId, phone, email,
firstName) on a loopback SFTP server (asyncssh, in this process), imported by an sftp
entry of a flow whose first element is a wait: timed from the launch (the first poll is
due at once) until every person is created and inside the flow.

The server runs on the real clock, as in production: the engine's own process polls and
imports (with its runtime settings, runtime.py). On the virtual clock `/clock/advance`
runs the rounds in the API's process instead, whose 5 ms switch interval made the writer
wait for the interpreter's lock after every statement while the import parsed rows."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from tidings.bench import raw as raw_limit
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server
from tidings.channels.standins.sftp import SftpStandin

RAW_ROWS = 200_000  # the raw limit's rows (a rate: more would only lengthen the run)
FLOW: dict[str, Any] = {
    "name": "SFTP import bench",
    "entry": {"type": "sftp", "connection": "bench", "path": "/in/*.csv", "every": "PT1H"},
    "elements": [{"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P365D"}],
}


def write_file(path: Path, rows: int) -> int:
    """The CSV of `rows` distinct, valid people; answer its size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        out.write("externalId,phone,email,firstName\n")
        for i in range(rows):
            out.write(f"p{i},+38591{i:07d},user{i}@example.com,Name{i % 1000}\n")
    return path.stat().st_size


def _count(path: Path, sql: str) -> int:
    with sqlite3.connect(path, timeout=60) as conn:
        return int(conn.execute(sql).fetchone()[0])


def run(rows: int) -> dict[str, Any]:
    folder = scratch("tidings-bench-sftp-")
    (folder / "files" / "in").mkdir(parents=True)
    size = write_file(folder / "files" / "in" / "people.csv", rows)
    path = folder / "sftp.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=0, api_key=BENCH_KEY)
    with SftpStandin(folder / "files") as sftp, running_server(url) as server:
        call(server.port, "PATCH", "/account", {"allowPrivateUrls": True})
        call(server.port, "POST", "/event-definitions", {"name": "Ping"})
        call(
            server.port,
            "POST",
            "/sftp-connections",
            {
                "name": "bench",
                "host": "127.0.0.1",
                "port": sftp.port,
                "username": sftp.username,
                "password": sftp.password,
                "hostKey": sftp.host_key,
            },
        )
        flow = call(server.port, "POST", "/flows", FLOW)
        started = time.perf_counter()
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        # every 20 ms: the highest participation id (an index's last entry) until it
        # reaches `rows`, then the count (a million rows take a core's 40 ms to count)
        while (
            _count(path, "SELECT coalesce(max(id), 0) FROM participations") < rows
            or _count(path, "SELECT count(*) FROM participations") < rows
        ):
            time.sleep(0.02)
            if time.perf_counter() - started > 3600:
                raise RuntimeError("gave up after an hour")
        elapsed = time.perf_counter() - started
        imported = call(server.port, "GET", f"/flows/{flow['id']}/imports")["items"]
        rss = server.peak_rss_mb()
    inside = _count(path, "SELECT count(*) FROM participations")
    people = _count(path, "SELECT count(*) FROM people")
    if not imported or imported[0]["valid"] != rows or inside != rows or people != rows:
        raise RuntimeError(f"imported {imported[:1]}, {people} people, {inside} inside")
    raw = raw_limit.rate("import", min(rows, RAW_ROWS))
    return {
        "workload": "sftp-import",
        "rows": rows,
        "fileMb": round(size / 2**20, 1),
        "seconds": round(elapsed, 2),
        "rowsPerSecond": round(rows / elapsed),
        # the rows an import writes at the least, straight into a fresh store (bench/raw.py)
        "rawPerSecond": round(raw),
        "ratioToRaw": round(rows / elapsed / raw, 3),
        "serverPeakRssMb": rss,
        "target": ">= 50,000 rows/s into the flow (people created and entered)",
        "meetsTarget": rows / elapsed >= 50_000,
    }


def main(rows: int) -> None:
    print(json.dumps(run(rows)), flush=True)
