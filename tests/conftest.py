"""Test harness: every store and API test runs on SQLite and on a real PostgreSQL.

One system per backend per session (migrated once); each test gets a fresh account, so
tests are isolated the way tenants are, and fast.
"""

from __future__ import annotations

import itertools
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tidings.bench.postgres import cluster
from tidings.bootstrap import Tidings, build
from tidings.clock import VirtualClock
from tidings.config import Settings
from tidings.domain.durations import to_micros
from tidings.store import accounts

BACKENDS = ["sqlite", "postgresql"]
ADMIN_KEY = "tdk_test_admin_key_of_the_default_account"
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with cluster() as url:
        yield url


def _database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="tidings-sqlite-"))
        return f"sqlite:///{folder / 'tidings.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session", params=BACKENDS)
def system(request: pytest.FixtureRequest) -> Iterator[Tidings]:
    """A whole Tidings (store, app) on one backend, on a virtual clock. Its app also
    listens on a loopback port, its `public_url`, where the providers' stand-ins post
    their callbacks (tests/channels/)."""
    port = _free_port()
    settings = Settings(
        database_url=_database_url(request.param, request),
        api_key=ADMIN_KEY,
        clock="virtual",
        public_url=f"http://127.0.0.1:{port}",
    )
    built = build(settings, clock=VirtualClock())
    server = uvicorn.Server(
        uvicorn.Config(built.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="tidings-test-server", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    yield built
    server.should_exit = True
    thread.join(timeout=10)
    built.close()


@pytest.fixture(scope="session")
def http(system: Tidings) -> Iterator[TestClient]:
    with TestClient(system.app, raise_server_exceptions=False) as client:
        yield client


class Api:
    """A client bound to one account's key, with JSON helpers."""

    def __init__(self, client: TestClient, key: str, account_id: int) -> None:
        self.client = client
        self.key = key
        self.account_id = account_id
        self.headers = {"Authorization": f"Bearer {key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


def new_account(system: Tidings, http: TestClient) -> Api:
    now = to_micros(system.clock.now())

    def write(conn: Any) -> tuple[int, str]:
        account = accounts.create_account(
            conn, name=f"test {next(_names)}", timezone="UTC", now=now
        )
        key = accounts.create_key(conn, account_id=account.id, name="test", admin=True, now=now)
        return account.id, key

    account_id, key = system.db.write(write)
    return Api(http, key, account_id)


@pytest.fixture
def api(system: Tidings, http: TestClient) -> Api:
    """An admin client of a fresh account: nothing another test wrote is visible to it."""
    return new_account(system, http)


@pytest.fixture
def other_api(system: Tidings, http: TestClient) -> Api:
    """A second account, to prove isolation."""
    return new_account(system, http)


@pytest.fixture
def backend(system: Tidings) -> str:
    return system.db.dialect


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name both backends in the output, with how many tests passed on each."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {backend: 0 for backend in BACKENDS}
    for report in passed:
        for backend in BACKENDS:
            if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid:
                counts[backend] += 1
    terminalreporter.write_sep("-", "database backends")
    for backend, count in counts.items():
        terminalreporter.write_line(f"{backend}: {count} tests passed")
