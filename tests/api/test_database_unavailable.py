"""The database goes away under a running server (a restart, a failover, a maintenance
window): the API answers 503 with `Retry-After` (a client retries; not a bug's 500), the
background loops say once that it went and once that it is back (no traceback at every
try), and once the database is back every request, writes included, succeeds again
without restarting Tidings. PostgreSQL only: it is the database that can go away alone."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import psycopg

from tests.support.postgres import create_database
from tidings.bench.server import BENCH_KEY, running_server


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any, str | None]:
    """(status, body, Retry-After) of one API request."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null"), None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers["Retry-After"]


def maintenance(url: str, name: str, *, closed: bool) -> None:
    """Refuse (or allow again) new connections to database `name`, and drop its
    connections: what a restart or a failover looks like to Tidings."""
    server = url.rpartition("/")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if closed else "true"}')
        if closed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_a_database_that_goes_away_answers_503_and_comes_back(postgres_url: str) -> None:
    name = "unavailable"
    url = create_database(postgres_url, name)
    with running_server(url) as server:
        person = [{"externalId": "ana", "firstName": "Ana"}]
        status, answer, _ = request(server.port, "POST", "/people/batch", person)
        assert status == 200, answer

        maintenance(url, name, closed=True)
        try:
            for method, path, body in [
                ("GET", "/health", None),  # what a load balancer asks
                ("GET", "/flows", None),  # a read
                ("POST", "/people/batch", person),  # the writer
                ("POST", "/events", {"person": {"externalId": "ana"}, "name": "Seen"}),  # fast
            ]:
                status, answer, retry = request(server.port, method, path, body)
                assert status == 503, (method, path, answer)
                assert answer["error"]["code"] == "unavailable"
                assert retry == "1"
            time.sleep(3)  # the engine, the leases and the report worker try meanwhile
        finally:
            maintenance(url, name, closed=False)

        status, answer, _ = request(server.port, "GET", "/flows")
        assert status == 200, answer
        renamed = [{"externalId": "ana", "firstName": "Anna"}]
        status, answer, _ = request(server.port, "POST", "/people/batch", renamed)
        assert status == 200, answer
        status, answer, _ = request(server.port, "GET", "/people?externalId=ana")
        assert status == 200, answer
        assert [p["firstName"] for p in answer["items"]] == ["Anna"], answer
        assert server.process.poll() is None

        assert server.log is not None
        deadline = time.monotonic() + 15
        while "the engine: the database is back" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            time.sleep(0.2)
        said = server.log.read_text()
        assert "Traceback" not in said, said[-3000:]
        assert said.count("the engine: the database is unavailable") == 1, said[-3000:]
        assert said.count("the report worker: the database is unavailable") == 1


class SlowSink:
    """An HTTP endpoint a flow's `call_api` posts to: it counts the requests and holds
    each answer `delay` seconds (so the database can go away while a call is out)."""

    def __init__(self, delay: float) -> None:
        import http.server
        import threading

        sink = self
        self.requests = 0
        self.delay = delay

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.requests += 1
                time.sleep(sink.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_answer_that_comes_while_the_database_is_away_is_settled_when_it_is_back(
    postgres_url: str,
) -> None:
    """A `call_api` is out when the database goes away; its answer comes during the
    outage. Once the database is back the person moves on at once, and the endpoint was
    called once: the answer was kept, not dropped to be called again when the call's
    lease ends."""
    name = "unavailable_calls"
    url = create_database(postgres_url, name)
    sink = SlowSink(delay=1.5)
    flow = {
        "name": "Calls through an outage",
        "entry": {"type": "event", "event": "Ping"},
        "elements": [
            {"id": "api", "type": "call_api", "method": "POST",
             "url": f"http://127.0.0.1:{sink.port}/hook", "body": "{}", "retries": 0},
        ],
    }  # fmt: skip
    try:
        with running_server(url, env={"TIDINGS_ALLOW_PRIVATE_URLS": "1"}) as server:
            port = server.port
            status, _, _ = request(port, "POST", "/event-definitions", {"name": "Ping"})
            assert status == 201
            status, created, _ = request(port, "POST", "/flows", flow)
            assert status == 201, created
            status, answer, _ = request(port, "POST", f"/flows/{created['id']}/launch")
            assert status == 200, answer
            event = {"person": {"externalId": "ana"}, "name": "Ping"}
            status, answer, _ = request(port, "POST", "/events", event)
            assert status == 202, answer
            deadline = time.monotonic() + 15
            while sink.requests == 0:
                assert time.monotonic() < deadline, "the call was never made"
                time.sleep(0.05)

            maintenance(url, name, closed=True)  # the answer comes 1.5 s later
            try:
                time.sleep(4)
            finally:
                maintenance(url, name, closed=False)

            def exited() -> int:
                status, performance, _ = request(port, "GET", f"/flows/{created['id']}/performance")
                return int(performance["flow"]["profilesExited"]) if status == 200 else 0

            deadline = time.monotonic() + 15
            while exited() < 1:
                assert time.monotonic() < deadline, "the answer was not settled"
                time.sleep(0.2)
            assert sink.requests == 1, "the endpoint was called again"
    finally:
        sink.close()


def test_a_server_stopped_while_the_database_is_away_stops_at_once(postgres_url: str) -> None:
    """SIGTERM during the outage: the server does not wait for the database, says in
    one line that its partitions move when their leases expire, and logs no traceback."""
    import signal

    name = "unavailable_stop"
    url = create_database(postgres_url, name)
    with running_server(url) as server:
        maintenance(url, name, closed=True)
        try:
            time.sleep(2)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=30)
            assert time.monotonic() - started < 10
        finally:
            maintenance(url, name, closed=False)
        assert server.log is not None
        said = server.log.read_text()
        assert "could not give the partitions back (" in said, said[-3000:]
        assert "Traceback" not in said, said[-3000:]
