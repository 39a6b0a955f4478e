"""The whole lifecycle matrix through the API: every status against every action,
allowed or refused with the right status code and a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.flows.helpers import cart, new_flow
from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.domain.lifecycle import Status
from tidings.store import flows as store

STATUSES = [s.value for s in Status]


def flow_in(system: Tidings, api: Api, status: str) -> int:
    doc = cart()
    if status == "scheduled":
        year = int(api.get("/clock").json()["now"][:4])
        doc["settings"]["schedule"] = {"start": f"{year + 50}-01-01T00:00:00Z", "end": None}
    flow_id: int = new_flow(api, doc)["id"]
    if status == "draft":
        return flow_id
    assert api.post(f"/flows/{flow_id}/launch").status_code == 200
    follow = {"paused": "pause", "canceled": "cancel"}
    if status in follow:
        assert api.post(f"/flows/{flow_id}/{follow[status]}").status_code == 200
    elif status == "finishing":
        assert api.post(f"/flows/{flow_id}/versions/1/stop").status_code == 200
    elif status in ("finished", "failed"):
        # No API call ends a version this way (the engine does), so the store sets it.
        system.db.write(
            lambda conn: store.set_version_status(
                conn, api.account_id, flow_id, 1, Status(status), now=0
            )
        )
    assert api.get(f"/flows/{flow_id}").json()["status"] == status
    return flow_id


Call = Callable[[Api, int], Any]
ACTIONS: dict[str, Call] = {
    "launch": lambda api, f: api.post(f"/flows/{f}/launch"),
    "pause": lambda api, f: api.post(f"/flows/{f}/pause"),
    "resume": lambda api, f: api.post(f"/flows/{f}/resume"),
    "cancel": lambda api, f: api.post(f"/flows/{f}/cancel"),
    "delete": lambda api, f: api.delete(f"/flows/{f}"),
    "edit": lambda api, f: api.put(f"/flows/{f}/document", json=cart(name="Edited")),
    "new version": lambda api, f: api.post(f"/flows/{f}/versions"),
    "stop": lambda api, f: api.post(f"/flows/{f}/versions/1/stop"),
    "duplicate": lambda api, f: api.post(f"/flows/{f}/duplicate"),
    "edit goal": lambda api, f: api.patch(
        f"/flows/{f}/versions/1", json={"settings": {"goal": {"event": "CartAbandoned"}}}
    ),
}

# status code per action, in the order of STATUSES:
# draft, scheduled, active, paused, finishing, finished, canceled, failed
EXPECTED: dict[str, list[int]] = {
    "launch": [200, 409, 409, 409, 409, 409, 409, 409],
    "pause": [409, 409, 200, 409, 409, 409, 409, 409],
    "resume": [409, 409, 409, 200, 409, 409, 409, 409],
    "cancel": [409, 200, 200, 200, 200, 409, 409, 200],
    "delete": [204, 409, 409, 409, 409, 409, 409, 409],
    "edit": [200, 409, 409, 409, 409, 409, 409, 409],
    "new version": [409, 201, 201, 201, 201, 201, 201, 201],
    "stop": [409, 409, 200, 200, 409, 409, 409, 409],
    "duplicate": [201, 201, 201, 201, 201, 201, 201, 201],
    "edit goal": [200, 200, 200, 200, 200, 409, 409, 409],
}
AFTER = {
    ("launch", "draft"): "active",
    ("pause", "active"): "paused",
    ("resume", "paused"): "active",
    ("cancel", "scheduled"): "canceled",
    ("cancel", "active"): "canceled",
    ("cancel", "paused"): "canceled",
    ("cancel", "finishing"): "canceled",
    ("cancel", "failed"): "canceled",  # lets a failed version's held people go
    ("stop", "active"): "finishing",
    ("stop", "paused"): "finishing",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_lifecycle_matrix(system: Tidings, api: Api, action: str, status: str) -> None:
    flow_id = flow_in(system, api, status)
    answer = ACTIONS[action](api, flow_id)
    expected = EXPECTED[action][STATUSES.index(status)]
    assert answer.status_code == expected, answer.text
    if expected == 409:
        message = answer.json()["error"]["message"]
        assert len(message) > 20
        assert api.get(f"/flows/{flow_id}").json()["status"] == status  # nothing moved
    elif (action, status) in AFTER:
        assert api.get(f"/flows/{flow_id}").json()["status"] == AFTER[(action, status)]
