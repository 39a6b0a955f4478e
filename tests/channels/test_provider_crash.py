"""A server killed with SIGKILL while a batch is at the provider, restarted, sends no
message twice: the batch's lease ends, it is sent again with the same message ids, and
the provider (here Infobip's stand-in, which de-duplicates by messageId as Infobip does)
keeps one of each. Every message is then delivered once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.background import started
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.server import BENCH_KEY, free_port, running_server
from tidings.channels.standins.infobip import InfobipStandin

PEOPLE = 200
KEY = "crash-test-key"
FLOW = {
    "name": "Crash",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop",
                  "text": "Hi {{ person.firstName }}"}],
}  # fmt: skip


def statuses(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    return {str(s): int(n) for s, n in rows}


def delivered_events(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        total, people = conn.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM events "
            "WHERE name = 'message.delivered'"
        ).fetchone()
    return int(total), int(people)


@pytest.mark.slow
def test_sigkill_while_a_batch_is_at_the_provider_sends_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=PEOPLE, api_key=BENCH_KEY)
    # The reports come after the kill (report_delay), and Infobip retries a report until
    # it is answered: long enough to outlive the restart.
    standin = InfobipStandin(
        api_key=KEY,
        answer_delay=3.0,
        report_delay=5.0,
        report_retries=400,
        report_retry_delay=0.1,
    )
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1", "TIDINGS_SEND_LEASE_SECONDS": "2"}
    port = free_port()  # the same public URL after the restart: reports still reach it
    with started(standin):
        with running_server(url, env=env, port=port) as server:
            connection = {"name": "Infobip", "provider": "infobip", "default": True,
                          "settings": {"baseUrl": standin.url, "apiKey": KEY}}  # fmt: skip
            call(server.port, "POST", "/connections", connection)
            flow = call(server.port, "POST", "/flows", FLOW)
            call(server.port, "POST", f"/flows/{flow['id']}/launch")
            deadline = time.monotonic() + 60
            while len(standin.messages) < PEOPLE:  # the batch is at the provider
                assert time.monotonic() < deadline, "nothing reached the provider"
                time.sleep(0.05)
            server.process.kill()  # SIGKILL before the provider answered
            server.process.wait()
        before = statuses(path)
        assert before.get("sending", 0) == PEOPLE, before  # claimed, never settled

        standin.answer_delay = 0.0
        with running_server(url, env=env, port=port):
            deadline = time.monotonic() + 120
            while statuses(path).get("delivered", 0) < PEOPLE:
                assert time.monotonic() < deadline, f"stuck: {statuses(path)}"
                time.sleep(0.2)
            deadline = time.monotonic() + 60
            while delivered_events(path)[0] < PEOPLE:
                assert time.monotonic() < deadline, f"events: {delivered_events(path)}"
                time.sleep(0.2)
            time.sleep(1.0)  # anything reported twice would show up now
        assert standin.duplicates >= PEOPLE  # sent again after the crash...
        assert len(standin.messages) == PEOPLE  # ...and kept once
        assert len({m["messageId"] for m in standin.messages}) == PEOPLE
        assert delivered_events(path) == (PEOPLE, PEOPLE)
