"""Property-based fuzzing of every operation in the OpenAPI document: no input, however
odd, may produce a 5xx. Runs against its own system per backend so that what the fuzzer
writes (accounts, a far-moved virtual clock) never touches the other tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import ADMIN_KEY, BACKENDS
from tests.support.postgres import create_database
from tidings.bootstrap import Tidings, build
from tidings.clock import VirtualClock
from tidings.config import Settings


@pytest.fixture(scope="session", params=BACKENDS)
def fuzzed_system(request: pytest.FixtureRequest) -> Iterator[Tidings]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='tidings-fuzz-')) / 'fuzz.db'}"
    else:
        url = create_database(request.getfixturevalue("postgres_url"), "fuzz")
    built = build(Settings(database_url=url, api_key=ADMIN_KEY), clock=VirtualClock())
    yield built
    built.close()


def test_no_input_makes_a_server_error(fuzzed_system: Tidings) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed_system.app)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "DELETE" and operation.path == "/keys/{key_id}":
            continue  # it could revoke the fuzzer's own key (tests/api/test_keys.py fuzzes it)
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # the app raised: as much a server error as a 500
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r:.300} -> {exc!r}"
                )
                return
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r:.300} -> "
                    f"{response.status_code} {response.text[:300]}"
                )

        run()
    assert operations >= 10
    assert failures == []


def test_flow_documents_from_the_schema_never_make_a_server_error(
    fuzzed_system: Tidings,
) -> None:
    """Flow documents the published schema allows (random names and references, so most
    do not validate), created, validated, dry-run and launched: each is refused with a
    4xx or runs; nothing answers 5xx (issue #13). tests/engine/test_flow_fuzz.py runs
    documents that validate."""
    from fastapi.testclient import TestClient

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed_system.app)
    (create,) = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.method.upper() == "POST" and op.path.rstrip("/").endswith("/flows")
    ]
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    failures: list[str] = []
    with TestClient(fuzzed_system.app, raise_server_exceptions=False) as client:

        def call(method: str, path: str, **kwargs: Any) -> Any:
            answer = client.request(method, "/api/v1" + path, headers=headers, **kwargs)
            if answer.status_code >= 500:
                failures.append(f"{method} {path} -> {answer.status_code} {answer.text[:300]}")
            return answer

        @given(case=create.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            if not isinstance(case.body, dict) or "template" in case.body:
                return
            made = call("POST", "/flows", json=case.body)
            if made.status_code != 201:
                return
            flow = made.json()["id"]
            call("POST", f"/flows/{flow}/validate")
            call("POST", f"/flows/{flow}/launch", params={"dryRun": "true"})
            if call("POST", f"/flows/{flow}/launch").status_code == 200:
                call("POST", "/clock/advance", json={"by": "PT1H"})
                call("GET", f"/flows/{flow}/performance")
                call("POST", f"/flows/{flow}/cancel")

        run()
    assert failures == []
