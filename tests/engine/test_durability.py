"""A server killed with SIGKILL in the middle of a 100,000-person launch, restarted, sends
every person exactly one message: state, outbox and counters commit together."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tidings.bench.launch import FLOW, call
from tidings.bench.population import populate
from tidings.bench.server import BENCH_KEY, running_server

PEOPLE = 100_000


def counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        total, people = conn.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM sandbox_messages"
        ).fetchone()
    return int(total), int(people)


def test_sigkill_mid_launch_then_restart_sends_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "kill.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=PEOPLE, api_key=BENCH_KEY)
    with running_server(url) as server:
        flow = call(server.port, "POST", "/flows", FLOW)
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        deadline = time.monotonic() + 300
        while counts(path)[0] < PEOPLE // 10:
            assert time.monotonic() < deadline, "the launch made no progress"
            time.sleep(0.05)
        server.process.kill()  # SIGKILL: no shutdown, no flush
        server.process.wait()
    killed_at = counts(path)[0]
    assert killed_at < PEOPLE, "the kill came too late to prove anything"

    with running_server(url) as server:
        deadline = time.monotonic() + 600
        while counts(path)[0] < PEOPLE:
            assert time.monotonic() < deadline, f"stuck at {counts(path)[0]} after restart"
            time.sleep(0.2)
        time.sleep(1.0)  # anything sent twice would show up now
        performance = call(server.port, "GET", f"/flows/{flow['id']}/performance")
    total, people = counts(path)
    assert (total, people) == (PEOPLE, PEOPLE)
    assert performance["flow"]["messagesSent"] == PEOPLE
    assert performance["flow"]["profilesInFlow"] == PEOPLE
