"""Delivery reports: kept in the person's events, and still a stimulus for whoever cares.

The dispatcher writes a report straight into the person's events when nobody waits for
it and no flow enters on it or aims at it (engine/dispatch.py); these tests pin down
what must not be lost on the way: an entry on a message event, a wait for one, a goal.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.engine.test_journeys import drain, person


def launch(api: Api, doc: dict[str, Any]) -> int:
    answer = api.post("/flows", json=doc)
    assert answer.status_code == 201, answer.text
    flow = int(answer.json()["id"])
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    return flow


def sms_to(tag: str) -> dict[str, Any]:
    return {
        "name": f"Hello {tag}",
        "entry": {"type": "audience", "tags": [tag], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [{"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hello"}],
    }


def names(api: Api, pid: int) -> list[str]:
    answer = api.get(f"/people/{pid}/events")
    assert answer.status_code == 200, answer.text
    return sorted(e["name"] for e in answer.json()["items"])


def test_reports_of_people_who_wait_nowhere_are_kept_in_their_events(api: Api) -> None:
    api.patch("/sandbox/settings", json={"delivered": 1, "seen": 1, "clicked": 0})
    pid = person(api, "quiet-one", tags=["quiet"])
    launch(api, sms_to("quiet"))
    drain(api)
    assert names(api, pid) == ["message.delivered", "message.seen"]


def test_a_flow_that_starts_on_a_message_event_still_gets_its_entries(api: Api) -> None:
    follow_up = launch(
        api,
        {
            "name": "Clicked follow-up",
            "entry": {"type": "event", "event": "message.delivered"},
            "elements": [{"id": "w", "type": "wait", "duration": "PT1H"}],
        },
    )
    pid = person(api, "clicker", tags=["clicker"])
    launch(api, sms_to("clicker"))
    drain(api)
    answer = api.get(f"/people/{pid}/journeys")
    assert answer.status_code == 200, answer.text
    flows = {j["flow"]: j["status"] for j in answer.json()["journeys"]}
    assert flows.get(follow_up) == "waiting"
    assert "message.delivered" in names(api, pid)


def test_a_wait_for_the_report_still_sees_it(api: Api) -> None:
    api.patch("/sandbox/settings", json={"delivered": 1, "seen": 0, "clicked": 0})
    pid = person(api, "waiter", tags=["waiter"])
    doc = sms_to("waiter")
    doc["elements"] = [
        {"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hello", "next": "w"},
        {
            "id": "w",
            "type": "wait_for_event",
            "element": "hi",
            "event": "message.delivered",
            "timeout": "P1D",
            "next": {"event": "done", "timeout": "done"},
        },
        {"id": "done", "type": "exit"},
    ]
    flow = launch(api, doc)
    drain(api)
    journey = next(j for j in api.get(f"/people/{pid}/journeys").json()["journeys"])
    assert journey["flow"] == flow
    assert journey["status"] == "exited"
    assert any(s["why"] == "event message.delivered" for s in journey["steps"])
