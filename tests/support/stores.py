"""Fresh stores for tests that build their own system (a setting the shared one lacks)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import create_database

_names = itertools.count()


def fresh_url(backend: str, request: pytest.FixtureRequest, name: str) -> str:
    """The URL of an empty store on `backend`: a file of its own, or a new database in
    the session's PostgreSQL cluster."""
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'tidings-{name}-')) / 't.db'}"
    return create_database(request.getfixturevalue("postgres_url"), f"{name}{next(_names)}")


def ok(answer: Any) -> Any:
    """The JSON of a successful answer (the test fails with the body otherwise)."""
    assert answer.status_code < 300, answer.text
    return answer.json()
