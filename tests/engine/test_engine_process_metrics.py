"""`tidings serve` on SQLite with the real clock runs its engine in a child process
(engine/process.py): the API's /metrics must still answer that engine's figures."""

from __future__ import annotations

import time
import urllib.request

from tests.support.metrics import Samples, parse, value
from tidings.bench.launch import call
from tidings.bench.server import running_server

FLOW = {
    "name": "Process",
    "entry": {"type": "event", "event": "Ping"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return parse(answer.read().decode())


def test_the_engine_process_figures_reach_the_api() -> None:
    with running_server() as server:
        assert server.database_url.startswith("sqlite")
        before = scrape(server.port)
        call(server.port, "POST", "/event-definitions", {"name": "Ping", "properties": {}})
        call(server.port, "PATCH", "/sandbox/settings", {"delivered": 0})
        flow = call(server.port, "POST", "/flows", FLOW)
        call(server.port, "POST", f"/flows/{flow['id']}/launch")
        people = [{"externalId": f"p{i}", "phones": [f"+3859110000{i:02d}"]} for i in range(5)]
        call(server.port, "POST", "/people/batch", people)
        answer = call(
            server.port,
            "POST",
            "/events",
            [{"person": {"externalId": p["externalId"]}, "name": "Ping"} for p in people],
        )
        assert {i["status"] for i in answer["items"]} == {"accepted"}
        deadline = time.monotonic() + 20
        while True:
            after = scrape(server.port)
            failed = value(
                after, "tidings_provider_errors_total", provider="sandbox", kind="failed"
            )
            rounds = value(after, "tidings_engine_rounds_total")
            # a round is counted when it ends, after the failures it counted: wait for both
            if (failed >= 5 and rounds > value(before, "tidings_engine_rounds_total")) or (
                time.monotonic() > deadline
            ):
                break
            time.sleep(0.1)
        assert failed == 5, "counted by the engine process, read by the API's"
        assert value(after, "tidings_engine_rounds_total") > value(
            before, "tidings_engine_rounds_total"
        )
        assert value(after, "tidings_engine_round_seconds_count") == value(
            after, "tidings_engine_rounds_total"
        )
        assert value(after, "tidings_events_ingested_total") == 5
        assert ("tidings_partitions_held", frozenset()) not in after, "embedded: no leases"
        cluster = call(server.port, "GET", "/cluster")
        assert cluster["leased"] is False
        assert [e["owner"] for e in cluster["engines"]] == ["embedded"]
