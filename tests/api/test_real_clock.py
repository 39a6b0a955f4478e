"""On a real clock the virtual-clock calls are refused with a 409 that says why."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tidings.bootstrap import build
from tidings.config import Settings


def test_clock_advance_is_refused_on_the_real_clock() -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'real.db'}"
    system = build(Settings(database_url=url, api_key=ADMIN_KEY, clock="real"))
    try:
        client = TestClient(system.app)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert client.get("/api/v1/clock", headers=headers).json()["virtual"] is False
        answer = client.post("/api/v1/clock/advance", json={"by": "P1D"}, headers=headers)
        assert answer.status_code == 409
        assert "virtual" in answer.json()["error"]["message"]
    finally:
        system.close()
