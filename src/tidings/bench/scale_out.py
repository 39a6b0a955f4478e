"""`tidings bench events --database postgresql --workers N`: the events workload done by
N `tidings worker` processes on one throwaway PostgreSQL cluster (`bench/postgres.py`,
fsync on).

The same people, flow and events as the SQLite workload (`workloads.events`: an entry
condition, a segment, an SMS for every event). A `tidings serve` defines and launches the
flow and stops (its own engine would be one more worker); then N workers start and the
run waits until each holds its fair share of the partitions. The events are **ingested
directly**, not posted over HTTP: the bench process writes them in batches of 1,000, one
commit each, from 4 threads (as `bench ingest` posts from 4 clients), with the store's
functions that `POST /events`' writer calls (`person_refs.ensure_people`,
`events.insert_events`, `events.insert_inbox_events`, which NOTIFYs the workers), so no
API process takes a share of the two cores and no other
engine takes partitions. The figure runs from the first ingest commit until every
event's SMS is in the sandbox.

Besides events/s it prints where the CPU went over the run (each worker, PostgreSQL's
processes, the ingesting bench process) per event and in cores busy, which is what
explains the ratio of two workers to one on a machine of two cores; and how many of the
messages each worker's partitions got. The raw limit is the same `insert` rows written by
`executemany` into a new database of the same cluster (`bench/raw.py`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psutil

from tidings.bench import raw as raw_limit
from tidings.bench.journeys_http import _postmaster, _tree_cpu
from tidings.bench.population import populate
from tidings.bench.postgres import cluster
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, running_server
from tidings.bench.workloads import RAW_PEOPLE, cart_value, launch_events_flow
from tidings.clock import RealClock
from tidings.domain.durations import to_micros
from tidings.store.database import Database
from tidings.store.events import encode_properties, insert_events, insert_inbox_events
from tidings.store.leases import read_leases
from tidings.store.person_refs import ensure_people
from tidings.store.tables import EXITED

PARTITIONS = 256  # the default; every process of the run is given it
BATCH = 1000  # events a commit, as a full `POST /events` request
CLIENTS = 4  # ingesting threads


def _count(db: Database, sql: str) -> int:
    with db.read() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _wait(what: str, check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.05)


@contextmanager
def _workers(url: str, n: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """N `tidings worker` processes (no metrics port); stopped with SIGTERM at the end."""
    folder = scratch("tidings-bench-workers-")
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_PARTITIONS": str(PARTITIONS),
        "TIDINGS_LOG_LEVEL": "warning",
    }
    logs = [(folder / f"worker{i}.log").open("wb") for i in range(n)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tidings", "worker", "--metrics-port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _owners(db: Database) -> dict[str, set[int]]:
    """Each live lease owner's partitions."""
    with db.read() as conn:
        held: dict[str, set[int]] = {}
        for lease in read_leases(conn):
            if lease.owner is not None:
                held.setdefault(lease.owner, set()).add(lease.partition)
    return held


def _balanced(db: Database, n: int) -> dict[str, set[int]] | None:
    held = _owners(db)
    fair = -(-PARTITIONS // n)
    fair_shares = len(held) == n and all(len(p) <= fair for p in held.values())
    return held if fair_shares and sum(len(p) for p in held.values()) == PARTITIONS else None


def _ingest(db: Database, count: int) -> float:
    """Write the `count` events as `POST /events`' writer does, from `CLIENTS` threads
    (as `bench ingest` posts from 4 clients); answer the seconds taken."""
    starts = iter(range(0, count, BATCH))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            _write_batch(db, start, min(start + BATCH, count))

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for done in [pool.submit(client) for _ in range(CLIENTS)]:
            done.result()
    return time.perf_counter() - started


def _write_batch(db: Database, start: int, end: int) -> None:
    names = [f"p{i}" for i in range(start, end)]
    now = to_micros(RealClock().now())
    with db.write_engine.begin() as conn:
        ids, _created = ensure_people(conn, 1, names, now)
        rows = [
            (
                1,
                ids[name],
                "CartAbandoned",
                encode_properties({"cartValue": cart_value(start + i)}),
                now,
                now,
            )
            for i, name in enumerate(names)
        ]
        insert_events(conn, rows)
        insert_inbox_events(conn, rows, partitions=PARTITIONS)


class WaitSampler:
    """What PostgreSQL's sessions of the run are doing, sampled from `pg_stat_activity`
    every `interval` s from a thread: for each (state, wait event), how many sessions are in
    it on average (`CPU` for an active session waiting on nothing; a lock wait names the
    start of the statement that waits)."""

    def __init__(self, db: Database, interval: float = 0.2) -> None:
        self.db = db
        self.interval = interval
        self.samples = 0
        self.seen: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.db.read() as conn:
            while not self._stop.wait(self.interval):
                rows = conn.exec_driver_sql(
                    "SELECT state, wait_event_type, wait_event, left(query, 48) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND state <> 'idle'"
                ).all()
                conn.rollback()
                self.samples += 1
                for state, kind, event, query in rows:
                    what = f"{state}: {f'{kind}:{event}' if event else 'CPU'}"
                    if kind == "Lock":  # which statement waits for a lock
                        what += f" in {query}"
                    self.seen[what] += 1

    def average(self) -> dict[str, float]:
        """Sessions in each (state, wait) on average, the busiest first."""
        n = max(self.samples, 1)
        return {what: round(count / n, 2) for what, count in self.seen.most_common(8)}


def _machine_busy() -> tuple[float, float]:
    """CPU seconds of the whole machine so far: busy (not idle, not iowait), and iowait."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle, getattr(times, "iowait", 0.0)


def _cpu(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return 0.0


def events_on_postgresql(count: int, workers: int) -> dict[str, Any]:
    with cluster(durable=True) as url:
        return _run(url, count, workers)


def _run(url: str, count: int, n: int) -> dict[str, Any]:
    populate(url, people_count=count, api_key=BENCH_KEY)
    setup = {"TIDINGS_PARTITIONS": str(PARTITIONS)}
    with running_server(url, env=setup) as server:
        flow_id = launch_events_flow(server.port)
    db = Database(url=url)
    try:
        with _workers(url, n) as processes:
            _wait("the workers' fair shares", lambda: _balanced(db, n), 120)
            held = _balanced(db, n) or {}
            postmaster = _postmaster(url)
            me = os.getpid()
            before = [_tree_cpu(p.pid) for p in processes], _tree_cpu(postmaster), _cpu(me)
            machine = _machine_busy()
            sent = "SELECT count(*) FROM sandbox_messages"
            with WaitSampler(db) as waits:
                started = time.perf_counter()
                ingest_seconds = _ingest(db, count)
                ingest_cpu = _cpu(me) - before[2]
                _wait("every SMS", lambda: _count(db, sent) >= count, 1800)
                elapsed = time.perf_counter() - started
            machine_busy, machine_iowait = (
                a - b for a, b in zip(_machine_busy(), machine, strict=True)
            )
            workers_cpu = [_tree_cpu(p.pid) - b for p, b in zip(processes, before[0], strict=True)]
            database_cpu = _tree_cpu(postmaster) - before[1]
            rss = [_peak_rss_mb(p.pid) for p in processes]
        completed = _count(
            db,
            f"SELECT count(*) FROM participations WHERE flow_id = {flow_id} "
            f"AND phase = {EXITED} AND exit_reason = 'completed'",
        )
        messages = _count(db, sent)
        people = _count(db, "SELECT count(DISTINCT person_id) FROM sandbox_messages")
        by_worker = _messages_by_worker(db, held)
    finally:
        db.close()
    raw = raw_limit.rate("insert", min(count, RAW_PEOPLE), cluster_url=url)
    figure = count / elapsed

    def per_event(seconds: float) -> float:
        return round(seconds * 1000 / count, 3)

    return {
        "workload": "events",
        "database": "postgresql",
        "workers": n,
        "ingest": "direct: the store's ingest writes, 1,000 events a commit, 4 threads",
        "events": count,
        "seconds": round(elapsed, 2),
        "eventsPerSecond": round(figure),
        "rawPerSecond": round(raw),
        "ratioToRaw": round(figure / raw, 3),
        "ingestSeconds": round(ingest_seconds, 2),
        "journeysCompleted": completed,
        "messages": messages,
        "peopleMessaged": people,
        "partitionsByWorker": sorted(len(p) for p in held.values()),
        "messagesByWorker": by_worker,
        # CPU over the run: ms an event, and cores busy on average (of the machine's)
        "cpuMsPerEvent": {
            "workers": [per_event(c) for c in workers_cpu],
            "postgresql": per_event(database_cpu),
            "ingest": per_event(ingest_cpu),
        },
        "coresBusy": {
            "workers": round(sum(workers_cpu) / elapsed, 2),
            "postgresql": round(database_cpu / elapsed, 2),
            "ingest": round(ingest_cpu / elapsed, 2),
            # everything on the machine, ours included (others' work is the noise)
            "machineAll": round(machine_busy / elapsed, 2),
            "machineIowait": round(machine_iowait / elapsed, 2),
            "machineCores": psutil.cpu_count(),
        },
        # PostgreSQL's sessions by what they wait on (pg_stat_activity, every 0.2 s)
        "databaseSessions": waits.average(),
        "serverPeakRssMb": round(sum(rss), 1),
        "target": "--workers 2 against --workers 1 (the ratio; the machine's cores bound it)",
    }


def _messages_by_worker(db: Database, held: dict[str, set[int]]) -> list[int]:
    """Messages sent to the people of each worker's partitions (as held at the start)."""
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT mod(person_id, {PARTITIONS}), count(*) FROM sandbox_messages GROUP BY 1"
        ).all()
    per_partition = Counter({int(p): int(n) for p, n in rows})
    return sorted(sum(per_partition[p] for p in parts) for parts in held.values())


def _peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return -1.0
