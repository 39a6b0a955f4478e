"""A paced connection slower than its claims' leases: a server sending 60 messages at 10
a second with a 2-second send lease sends each message once. The messages with no turn
within half the lease are released and claimed again, instead of waiting in the sender
while their lease ends and another claim sends them too."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.background import started
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.server import BENCH_KEY, running_server
from tidings.channels.standins.infobip import InfobipStandin

PEOPLE = 60
RATE = 10
KEY = "paced-test-key"
FLOW = {
    "name": "Paced",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def statuses(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    return {str(s): int(n) for s, n in rows}


@pytest.mark.slow
def test_a_pace_slower_than_the_lease_sends_each_message_once(tmp_path: Path) -> None:
    path = tmp_path / "paced.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=PEOPLE, api_key=BENCH_KEY)
    standin = InfobipStandin(api_key=KEY)
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1", "TIDINGS_SEND_LEASE_SECONDS": "2"}
    with started(standin), running_server(url, env=env) as server:
        connection = {"name": "Paced", "provider": "infobip", "default": True,
                      "settings": {"baseUrl": standin.url, "apiKey": KEY,
                                   "messagesPerSecond": RATE}}  # fmt: skip
        call(server.port, "POST", "/connections", connection)
        flow = call(server.port, "POST", "/flows", FLOW)
        started_at = time.monotonic()
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        deadline = time.monotonic() + 60
        while statuses(path).get("sent", 0) + statuses(path).get("delivered", 0) < PEOPLE:
            assert time.monotonic() < deadline, f"stuck: {statuses(path)}"
            time.sleep(0.2)
        took = time.monotonic() - started_at
        time.sleep(1.0)  # a message still waiting in the sender would go now
    assert took >= (PEOPLE - RATE) / RATE * 0.9  # the pace held
    assert standin.duplicates == 0
    assert len(standin.messages) == PEOPLE
    with sqlite3.connect(path) as conn:
        tries = conn.execute("SELECT max(attempts) FROM outbox").fetchone()[0]
    assert tries == 1  # a release does not count as a try
