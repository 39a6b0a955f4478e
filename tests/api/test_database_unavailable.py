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
