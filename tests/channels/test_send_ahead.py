"""A launch bigger than what a slow provider takes waits in the store: with
`TIDINGS_SEND_AHEAD=100` a server never has more than 100 messages claimed and
unanswered, and still sends every message once."""

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

PEOPLE = 600
AHEAD = 100
KEY = "ahead-test-key"
FLOW = {
    "name": "Ahead",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def statuses(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM outbox WHERE connection_id IS NOT NULL GROUP BY status"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


@pytest.mark.slow
def test_no_more_than_send_ahead_messages_wait_at_the_sender(tmp_path: Path) -> None:
    path = tmp_path / "ahead.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=PEOPLE, api_key=BENCH_KEY)
    standin = InfobipStandin(api_key=KEY, answer_delay=0.3)
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1", "TIDINGS_SEND_AHEAD": str(AHEAD)}
    with started(standin), running_server(url, env=env) as server:
        connection = {"name": "Slow", "provider": "infobip", "default": True,
                      "settings": {"baseUrl": standin.url, "apiKey": KEY}}  # fmt: skip
        call(server.port, "POST", "/connections", connection)
        flow = call(server.port, "POST", "/flows", FLOW)
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        most, waited = 0, 0
        deadline = time.monotonic() + 60
        while True:
            now = statuses(path)
            most = max(most, now.get("sending", 0))
            waited = max(waited, now.get("pending", 0))
            if now.get("sent", 0) + now.get("delivered", 0) == PEOPLE:
                break
            assert time.monotonic() < deadline, f"stuck: {now}"
            time.sleep(0.02)
    assert 0 < most <= AHEAD
    assert waited > AHEAD  # the launch wrote them faster than they went: they waited
    assert standin.duplicates == 0
    assert len(standin.messages) == PEOPLE
