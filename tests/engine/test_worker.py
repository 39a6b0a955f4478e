"""`tidings worker` end to end on PostgreSQL: real processes, one database.

A `tidings serve` and two `tidings worker` processes split the partitions; a flow
launched through the API sends every person exactly one SMS whichever process holds
their partition. A worker killed with SIGKILL loses its partitions when its leases
expire, and the others finish its people's work; a worker stopped with SIGTERM gives its
partitions back at once. On SQLite the command refuses to start.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from tests.support import faults
from tests.support.metrics import Samples, parse, value
from tests.support.postgres import create_database
from tidings.bench.launch import call
from tidings.bench.server import Server, free_port, running_server

P = 16
ENV = {
    "TIDINGS_PARTITIONS": str(P),
    "TIDINGS_LEASE_SECONDS": "2",
    "TIDINGS_LEASE_RENEW_SECONDS": "0.25",
    "TIDINGS_LOG_LEVEL": "info",
}
FLOW = {
    "name": "Scale-out",
    "entry": {"type": "event", "event": "Ping"},
    "elements": [
        {"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}
    ],
}
_names = itertools.count()
T = TypeVar("T")


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn(url)) as conn:
        return conn.execute(sql).fetchall()


def leases(url: str) -> dict[int, tuple[str | None, int]]:
    """partition -> (owner, epoch)."""
    rows = query(url, "SELECT partition, owner, epoch FROM partition_leases ORDER BY partition")
    return {int(p): (owner, int(epoch)) for p, owner, epoch in rows}


def pid_of(owner: str | None) -> int | None:
    return None if owner is None else int(owner.rsplit("-", 2)[1])


def by_process(url: str) -> dict[int | None, set[int]]:
    held: dict[int | None, set[int]] = {}
    for p, (owner, _epoch) in leases(url).items():
        held.setdefault(pid_of(owner), set()).add(p)
    return held


def sent_per_person(url: str) -> dict[int, int]:
    rows = query(url, "SELECT person_id, count(*) FROM sandbox_messages GROUP BY person_id")
    return {int(person): int(n) for person, n in rows}


_diagnosed: list[str] = []


def diagnose() -> str:
    """The leases, workers and sessions of the database under test, for a failure."""
    if not _diagnosed:
        return ""
    url = _diagnosed[-1]
    sessions = query(
        url,
        "SELECT pid, state, wait_event, xact_start, left(query, 100) FROM pg_stat_activity "
        "WHERE datname = current_database()",
    )
    lines = [f"leases {leases(url)}", f"workers {query(url, 'SELECT * FROM workers')}"]
    return "\n".join(lines + [f"session {s}" for s in sessions])


def wait_for(what: str, check: Callable[[], T | None], seconds: float, logs: Path) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {f.name}\n{f.read_text()[-3000:]}" for f in logs.glob("*.log"))
            raise AssertionError(f"timed out waiting for {what}\n{tails}\n{diagnose()}")
        time.sleep(0.1)


@contextmanager
def worker(
    url: str, logs: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = (logs / f"worker{next(_names)}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tidings", "worker", *args],
        env={**os.environ, **(env or ENV), "TIDINGS_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)
        log.close()


def add_people(server: Server, first: int, count: int) -> list[str]:
    ids = [f"p{i}" for i in range(first, first + count)]
    people = [
        {"externalId": x, "firstName": x, "phones": [f"+38591{i:07d}"]}
        for i, x in zip(range(first, first + count), ids, strict=True)
    ]
    answer = call(server.port, "POST", "/people/batch", people)
    assert {item["status"] for item in answer["items"]} == {"accepted"}, answer
    return ids


def ping(server: Server, ids: list[str]) -> None:
    answer = call(
        server.port, "POST", "/events", [{"person": {"externalId": x}, "name": "Ping"} for x in ids]
    )
    assert {item["status"] for item in answer["items"]} == {"accepted"}, answer


def hold(url: str, processes: set[int], logs: Path) -> None:
    """Wait until exactly `processes` hold the partitions."""
    wait_for(
        f"{len(processes)} processes to share the partitions",
        lambda: set(by_process(url)) == processes,
        40,
        logs,
    )


def launch(server: Server, *documents: dict[str, Any]) -> list[dict[str, Any]]:
    """Define the event `Ping`, then create and launch each flow document."""
    call(server.port, "POST", "/event-definitions", {"name": "Ping", "properties": {}})
    flows = [call(server.port, "POST", "/flows", doc) for doc in documents]
    for flow in flows:
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
    return flows


def test_workers_split_the_partitions_and_take_over_a_killed_one(
    postgres_url: str, tmp_path: Path
) -> None:
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    with (  # the workers start while serve does: all three migrate under one lock
        worker(url, tmp_path) as first,
        worker(url, tmp_path) as second,
        running_server(url, env=ENV) as server,
    ):
        logs = tmp_path
        processes = {server.process.pid, first.pid, second.pid}

        def split() -> dict[int | None, set[int]] | None:
            held = by_process(url)
            fair = set(held) == processes and all(len(h) <= -(-P // 3) for h in held.values())
            return held if fair else None

        wait_for("three processes to share the partitions", split, 40, logs)

        (flow,) = launch(server, FLOW)
        ping(server, add_people(server, 0, 48))
        wait_for("48 messages", lambda: sum(sent_per_person(url).values()) >= 48, 20, logs)

        before = leases(url)
        orphaned = {p: epoch for p, (owner, epoch) in before.items() if pid_of(owner) == first.pid}
        first.send_signal(signal.SIGKILL)
        first.wait()
        ping(server, add_people(server, 48, 48))  # 48 consecutive ids: every partition

        def taken_over() -> bool:
            now = leases(url)
            return all(
                pid_of(now[p][0]) in {server.process.pid, second.pid} and now[p][1] > epoch
                for p, epoch in orphaned.items()
            )

        wait_for("the killed worker's partitions to move", taken_over, 15, logs)
        wait_for("96 messages", lambda: sum(sent_per_person(url).values()) >= 96, 20, logs)
        time.sleep(0.5)  # anything sent twice would show by now
        sent = sent_per_person(url)
        assert len(sent) == 96, "every person got a message"
        assert set(sent.values()) == {1}, "exactly one SMS per person"
        performance = call(server.port, "GET", f"/flows/{flow['id']}/performance")
        assert performance["flow"]["messagesSent"] == 96

        second.send_signal(signal.SIGTERM)  # a graceful stop gives its partitions back
        assert second.wait(timeout=15) == 0
        assert second.pid not in by_process(url), "released before exit, not left to expire"
        wait_for(
            "serve to hold everything",
            lambda: set(by_process(url)) == {server.process.pid},
            10,
            logs,
        )


def test_a_paused_worker_comes_back_without_writing_twice(
    postgres_url: str, tmp_path: Path
) -> None:
    """SIGSTOP (a long GC pause, a frozen VM): its leases expire and move; once resumed,
    anything it was about to write is fenced off, and it rejoins with a fair share."""
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    with worker(url, tmp_path) as paused, running_server(url, env=ENV) as server:
        processes = {server.process.pid, paused.pid}

        def split() -> bool:
            held = by_process(url)
            return set(held) == processes and all(len(h) == P // 2 for h in held.values())

        wait_for("two processes to share the partitions", split, 40, tmp_path)
        launch(server, FLOW)
        ping(server, add_people(server, 0, 48))
        time.sleep(0.03)  # the worker is woken and may be in the middle of a batch
        paused.send_signal(signal.SIGSTOP)
        try:
            wait_for(
                "serve to take every partition",
                lambda: set(by_process(url)) == {server.process.pid},
                15,
                tmp_path,
            )
            wait_for("48 messages", lambda: sum(sent_per_person(url).values()) >= 48, 20, tmp_path)
        finally:
            paused.send_signal(signal.SIGCONT)
        wait_for("the worker to rejoin", split, 15, tmp_path)
        ping(server, add_people(server, 48, 48))
        wait_for("96 messages", lambda: sum(sent_per_person(url).values()) >= 96, 20, tmp_path)
        time.sleep(0.5)
        sent = sent_per_person(url)
        assert len(sent) == 96, "every person got a message"
        assert set(sent.values()) == {1}, "exactly one SMS per person"
        assert paused.poll() is None, "the worker survived losing its leases"


def scrape(port: int, path: str = "/metrics") -> Samples | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return parse(answer.read().decode())
    except OSError:
        return None


def test_each_worker_serves_its_own_metrics(postgres_url: str, tmp_path: Path) -> None:
    """A worker's metrics port answers its own engine's figures; serve's /metrics its
    own (and ingest and the backlog); /cluster lists both engines with their leases."""
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    port = free_port()
    with (
        worker(url, tmp_path, "--metrics-port", str(port)) as alone,
        running_server(url, env=ENV) as server,
    ):
        processes = {server.process.pid, alone.pid}

        def split() -> dict[int | None, set[int]] | None:
            held = by_process(url)
            fair = set(held) == processes and all(len(h) == P // 2 for h in held.values())
            return held if fair else None

        held = wait_for("two processes to share the partitions", split, 40, tmp_path)
        launch(server, FLOW)
        ping(server, add_people(server, 0, 48))  # 48 consecutive ids: every partition
        wait_for("48 messages", lambda: sum(sent_per_person(url).values()) >= 48, 20, tmp_path)

        def worked(port: int) -> Samples | None:
            samples = scrape(port)
            done = samples and value(samples, "tidings_engine_rounds_total") > 0
            return samples if done else None

        mine = wait_for("the worker's metrics", lambda: worked(port), 10, tmp_path)
        assert value(mine, "tidings_partitions_held") == len(held[alone.pid])
        assert value(mine, "tidings_lease_changes_total", change="acquired") >= P // 2
        assert value(mine, "tidings_engine_round_seconds_count") > 0
        assert value(mine, "process_resident_memory_bytes") > 0
        assert ("tidings_events_ingested_total", frozenset()) not in mine, "serve's, not its"

        theirs = wait_for("serve's metrics", lambda: worked(server.port), 10, tmp_path)
        assert value(theirs, "tidings_partitions_held") == len(held[server.process.pid])
        assert value(theirs, "tidings_events_ingested_total") == 48
        assert value(theirs, "tidings_due_backlog", source="inbox") >= 0

        cluster = call(server.port, "GET", "/cluster")
        assert cluster["leased"] is True
        engines = {pid_of(e["owner"]): e for e in cluster["engines"]}
        assert set(engines) == processes
        for pid, engine in engines.items():
            assert set(engine["partitions"]) == held[pid]
            assert engine["leaseExpiresAt"] > cluster["now"]
            assert engine["heartbeatAt"] is not None

        alone.send_signal(signal.SIGTERM)
        assert alone.wait(timeout=15) == 0
        assert scrape(port) is None, "the port closes with the worker"


def test_workers_without_a_free_metrics_port_still_work(postgres_url: str, tmp_path: Path) -> None:
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    port = free_port()
    with (
        worker(url, tmp_path, "--metrics-port", str(port)) as first,
        worker(url, tmp_path, "--metrics-port", str(port)) as second,
        worker(url, tmp_path, "--metrics-port", "0") as third,
    ):
        processes = {first.pid, second.pid, third.pid}

        def all_three() -> bool:
            try:
                return set(by_process(url)) == processes
            except psycopg.errors.UndefinedTable:
                return False  # not migrated yet

        wait_for("three workers", all_three, 40, tmp_path)
        assert scrape(port) is not None
        logs = "".join(f.read_text() for f in tmp_path.glob("*.log"))
        assert "no metrics:" in logs, logs
        assert logs.count("/metrics") == 1, "one served, one taken, one off"


def test_worker_on_sqlite_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tidings", "worker"],
        env={**os.environ, "TIDINGS_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "tidings worker needs PostgreSQL" in done.stderr
    assert "tidings serve" in done.stderr
    assert not (tmp_path / "t.db").exists(), "nothing was created"


def test_a_failing_flow_fails_alone_while_workers_share_the_partitions(
    postgres_url: str, tmp_path: Path
) -> None:
    """Fault injection in every process (tests/support/faults.py): the flow whose SMS
    element raises fails, whichever process meets it first; the other flow's people,
    in every partition, get their message; no process stops."""
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    site = faults.site_dir(tmp_path / "site")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = {**ENV, "TIDINGS_TEST_FAULTS": "1", "PYTHONPATH": path}
    with (
        worker(url, tmp_path, env=env) as first,
        worker(url, tmp_path, env=env) as second,
        running_server(url, env=env) as server,
    ):
        hold(url, {server.process.pid, first.pid, second.pid}, tmp_path)
        bad_doc = {**FLOW, "name": "Faulty", "elements": [{**FLOW["elements"][0], "id": "boom"}]}
        good, bad = launch(server, FLOW, bad_doc)
        ping(server, add_people(server, 0, 48))  # 48 consecutive ids: every partition

        def failed() -> dict[str, Any] | None:
            view: dict[str, Any] = call(server.port, "GET", f"/flows/{bad['id']}")
            return view if view["status"] == "failed" else None

        view = wait_for("the faulty flow to fail", failed, 20, tmp_path)
        assert "injected fault in enter at boom" in view["failure"]["reason"]
        wait_for("48 messages", lambda: sum(sent_per_person(url).values()) >= 48, 20, tmp_path)
        sent = query(url, "SELECT flow_id, count(*) FROM sandbox_messages GROUP BY flow_id")
        assert dict(sent) == {good["id"]: 48}
        assert all(p.poll() is None for p in (first, second, server.process))
        good_view = call(server.port, "GET", f"/flows/{good['id']}")
        assert good_view["status"] == "active"


def test_engines_recover_when_the_database_drops_their_connections(
    postgres_url: str, tmp_path: Path
) -> None:
    """A PostgreSQL restart, a failover or an idle-session timeout closes every
    connection: the pools test theirs before use, each writer runs a batch the database
    dropped once more on a fresh connection (`store/committer.py`), and every person
    still gets exactly one message."""
    url = create_database(postgres_url, f"workers{next(_names)}")
    _diagnosed.append(url)
    with worker(url, tmp_path) as other, running_server(url, env=ENV) as server:
        hold(url, {server.process.pid, other.pid}, tmp_path)
        launch(server, FLOW)
        ping(server, add_people(server, 0, 48))
        wait_for("48 messages", lambda: sum(sent_per_person(url).values()) >= 48, 20, tmp_path)

        killed = query(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert len(killed) >= 4, "the API's, both engines' and both writers' connections"
        ping(server, add_people(server, 48, 48))  # every partition: both engines
        wait_for("96 messages", lambda: sum(sent_per_person(url).values()) >= 96, 30, tmp_path)
        time.sleep(0.5)
        sent = sent_per_person(url)
        assert len(sent) == 96, "every person got a message"
        assert set(sent.values()) == {1}, "exactly one SMS per person"
        assert other.poll() is None, "the worker did not stop"
        assert server.process.poll() is None, "serve did not stop"
