"""A server's sends stay within their bounds, each message once:

- a paced connection slower than its claims' leases (60 messages at 10 a second with a
  2-second send lease): the messages with no turn within half the lease are released
  and claimed again, instead of waiting in the sender while their lease ends and
  another claim sends them too;
- a launch bigger than a slow provider takes: with `TIDINGS_SEND_AHEAD=100` no more
  than 100 messages are ever claimed and unanswered; the rest waits in the store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.background import started
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.server import BENCH_KEY, running_server
from tidings.channels.standins.infobip import InfobipStandin

KEY = "bounds-test-key"
FLOW = {
    "name": "Bounds",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def statuses(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM outbox WHERE connection_id IS NOT NULL GROUP BY status"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


def handed_over(path: Path) -> int:
    now = statuses(path)
    return now.get("sent", 0) + now.get("delivered", 0)


@contextmanager
def launched(
    tmp_path: Path, people: int, env: dict[str, str], settings: dict[str, Any], **standin: Any
) -> Iterator[tuple[Path, InfobipStandin, float]]:
    """A server on SQLite whose default connection (with these extra settings) goes to an
    Infobip stand-in, and a launch of `people` to it: the store's path, the stand-in and
    when the launch was asked for (`time.monotonic`), the server still running."""
    path = tmp_path / "bounds.db"
    populate(f"sqlite:///{path}", people_count=people, api_key=BENCH_KEY)
    provider = InfobipStandin(api_key=KEY, **standin)
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1", **env}
    with started(provider), running_server(f"sqlite:///{path}", env=env) as server:
        connection = {"name": "Bounded", "provider": "infobip", "default": True,
                      "settings": {"baseUrl": provider.url, "apiKey": KEY, **settings}}  # fmt: skip
        call(server.port, "POST", "/connections", connection)
        flow = call(server.port, "POST", "/flows", FLOW)
        launched_at = time.monotonic()
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        yield path, provider, launched_at


@pytest.mark.slow
def test_a_pace_slower_than_the_lease_sends_each_message_once(tmp_path: Path) -> None:
    people, rate = 60, 10
    env = {"TIDINGS_SEND_LEASE_SECONDS": "2"}
    paced = {"messagesPerSecond": rate}
    with launched(tmp_path, people, env, paced) as (path, standin, started_at):
        deadline = time.monotonic() + 60
        while handed_over(path) < people:
            assert time.monotonic() < deadline, f"stuck: {statuses(path)}"
            time.sleep(0.2)
        took = time.monotonic() - started_at
        time.sleep(1.0)  # a message still waiting in the sender would go now
    assert took >= (people - rate) / rate * 0.9  # the pace held
    assert standin.duplicates == 0
    assert len(standin.messages) == people
    with sqlite3.connect(path) as conn:
        tries = conn.execute("SELECT max(attempts) FROM outbox").fetchone()[0]
    assert tries == 1  # a release does not count as a try


@pytest.mark.slow
def test_no_more_than_send_ahead_messages_wait_at_the_sender(tmp_path: Path) -> None:
    people, ahead = 600, 100
    env = {"TIDINGS_SEND_AHEAD": str(ahead)}
    with launched(tmp_path, people, env, {}, answer_delay=0.3) as (path, standin, _):
        most, waited = 0, 0
        deadline = time.monotonic() + 60
        while handed_over(path) < people:
            now = statuses(path)
            most = max(most, now.get("sending", 0))
            waited = max(waited, now.get("pending", 0))
            assert time.monotonic() < deadline, f"stuck: {now}"
            time.sleep(0.02)
    assert 0 < most <= ahead
    assert waited > ahead  # the launch wrote them faster than they went: they waited
    assert standin.duplicates == 0
    assert len(standin.messages) == people
