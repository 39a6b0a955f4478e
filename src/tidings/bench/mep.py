"""`tidings bench mep --people N`: a month of N engaged persons written straight into the
store (the roll-up's rows and counters, as entries would have left them: store/mep.py),
then GET /mep timed on a real server (p50/p99 of `calls` calls; and the same answer
read in-process, without HTTP: `store*`), and the MEP report's
rows streamed from the store (rows/s, with the reader's peak RSS)."""

from __future__ import annotations

import http.client
import json
import resource
import time
from datetime import UTC, datetime
from typing import Any

from tidings.analytics.mep import engaged_persons
from tidings.bench.client import latency_figures
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server
from tidings.domain.durations import to_micros
from tidings.store import mep
from tidings.store.database import Database

SUB_ACCOUNTS = 3  # the default account's sub-accounts: the people are spread over all four
FLOWS = 40  # flows of each account the people first entered
CHUNK = 50_000


def _write_month(db: Database, people: int, month: int, at: int) -> list[int]:
    """Sub-accounts, their flows, and `people` engaged persons of `month` spread over the
    accounts and flows, with the counters the entries would have added; answer the
    accounts' ids."""
    with db.write_engine.begin() as conn:
        accounts = [1]
        for n in range(SUB_ACCOUNTS):
            accounts.append(
                int(
                    conn.exec_driver_sql(
                        "INSERT INTO accounts (name, timezone, allow_private_urls, created_at, "
                        f"parent_id) VALUES ('sub {n}', 'UTC', false, 0, 1) RETURNING id"
                    ).scalar_one()
                )
            )
        flows: list[tuple[int, int]] = []  # (account, flow)
        for account_id in accounts:
            for n in range(FLOWS):
                flows.append(
                    (
                        account_id,
                        int(
                            conn.exec_driver_sql(
                                "INSERT INTO flows (account_id, name, status, created_at, "
                                f"updated_at) VALUES ({account_id}, 'flow {n}', 'active', 0, 0) "
                                "RETURNING id"
                            ).scalar_one()
                        ),
                    )
                )
    counts: dict[tuple[int, int], int] = {}
    for start in range(0, people, CHUNK):
        rows = []
        for person in range(start + 1, min(start + CHUNK, people) + 1):
            account_id, flow_id = flows[(person * 7919) % len(flows)]
            rows.append((account_id, month, person, at + person, flow_id, 1))
            counts[(account_id, flow_id)] = counts.get((account_id, flow_id), 0) + 1
        with db.write_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO engaged_people (account_id, month, person_id, engaged_at, "
                "flow_id, version) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO engaged_counts (account_id, month, flow_id, engaged) VALUES (?, ?, ?, ?)",
            [(a, month, f, n) for (a, f), n in counts.items()],
        )
    return accounts


def run(*, people: int, calls: int, report: bool) -> dict[str, Any]:
    folder = scratch("tidings-bench-mep-")
    url = f"sqlite:///{folder / 'mep.db'}"
    populate(url, people_count=0, api_key=BENCH_KEY)
    now = datetime.now(UTC)
    month = now.year * 100 + now.month
    db = Database(url=url)
    started = time.perf_counter()
    accounts = _write_month(db, people, month, to_micros(now.replace(day=1, hour=0, minute=0)))
    written = time.perf_counter() - started
    latencies: list[float] = []
    with running_server(url) as server:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"Authorization": f"Bearer {BENCH_KEY}"}

        def get() -> Any:
            client.request("GET", "/api/v1/mep", headers=headers)
            response = client.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET /mep answered {response.status}: {body[:200]!r}")
            return json.loads(body)

        try:
            answer = get()  # warm: the key, the connection, the pages
            for _ in range(calls):
                begun = time.perf_counter()
                answer = get()
                latencies.append((time.perf_counter() - begun) * 1000)
        finally:
            client.close()
    if answer["total"] != people or len(answer["accounts"]) != len(accounts):
        raise RuntimeError(f"GET /mep answered {answer['total']} of {people} people")
    # the same answer read in this process, without HTTP: what the roll-up costs the store
    inside: list[float] = []
    with db.read() as conn:
        for _ in range(calls):
            begun = time.perf_counter()
            engaged_persons(conn, 1, None, to_micros(now))
            inside.append((time.perf_counter() - begun) * 1000)
    out: dict[str, Any] = {
        "workload": "mep",
        "people": people,
        "accounts": len(accounts),
        "flows": len(accounts) * FLOWS,
        "writeSeconds": round(written, 1),
        "calls": calls,
        **latency_figures(latencies),
        **latency_figures(inside, "store"),
    }
    if report:
        began = time.perf_counter()
        rows = 0
        with db.read() as conn:
            for _row in mep.report_rows(conn, accounts, month):
                rows += 1
        seconds = time.perf_counter() - began
        out |= {
            "reportRows": rows,
            "reportSeconds": round(seconds, 1),
            "reportRowsPerSecond": round(rows / seconds),
            "benchPeakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    db.close()
    return out


def main(people: int, calls: int, report: bool) -> None:
    print(json.dumps(run(people=people, calls=calls, report=report)), flush=True)
