"""The per-person trace, `GET /people/{id}/journeys`: flows, elements passed with times,
the reason for each decision, refused entries with their rule, and the retention."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, event, person


def flow_doc(**settings: Any) -> dict[str, Any]:
    return {
        "name": "Cart rescue",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"reentry": {"enabled": False}, **settings},
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [{"name": "big", "when": "event.cartValue > 50"}],
                "next": {"big": "sms1", "otherwise": "end"},
            },
            {"id": "sms1", "type": "send_sms", "from": "ShopCo", "text": "Hi", "next": "w"},
            {"id": "w", "type": "wait", "duration": "P1D", "next": "end"},
            {"id": "end", "type": "exit"},
        ],
    }


def now(api: Api) -> str:
    return str(api.get("/clock").json()["now"])


def journeys(api: Api, pid: int) -> dict[str, Any]:
    answer = api.get(f"/people/{pid}/journeys")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_the_trace_names_each_element_passed_and_why(api: Api) -> None:
    flow = launched(api, flow_doc())["id"]
    pid = person(api)
    start = now(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)

    found = journeys(api, pid)["journeys"]
    assert [(j["flow"], j["flowName"], j["status"], j["element"]) for j in found] == [
        (flow, "Cart rescue", "waiting", "w")
    ]
    steps = found[0]["steps"]
    elements = [s["element"] for s in steps]
    assert elements[0] is None
    assert steps[0]["what"] == "entered"
    branch = next(s for s in steps if s["what"] == "branch")
    assert "big" in branch["why"]
    assert "event.cartValue > 50" in branch["why"]
    assert "sms1" in elements
    assert "w" in elements
    assert all(s["at"] == start for s in steps)
    assert steps[-1]["what"] == "wait"
    assert steps[-1]["why"].startswith("until ")

    drain(api, "P1D")
    after = journeys(api, pid)["journeys"][0]
    assert after["status"] == "exited"
    assert after["exitedAt"] == now(api)
    assert after["exitedAt"] != start
    assert after["steps"][-1]["at"] == now(api)
    assert len(after["steps"]) > len(steps)


def test_a_refused_entry_is_traced_with_its_rule(api: Api) -> None:
    flow = launched(api, flow_doc())["id"]
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    second = now(api)
    event(api, "CartAbandoned", cartValue=90)  # re-entry is off, and the person is inside
    drain(api)

    refused = journeys(api, pid)["refusedEntries"]
    assert len(refused) == 1
    assert refused[0]["flow"] == flow
    assert refused[0]["reason"] == "alreadyInFlow"
    assert refused[0]["at"] == second


def test_the_trace_is_kept_for_the_retention_only(api: Api) -> None:
    launched(api, flow_doc())
    pid = person(api)
    event(api, "CartAbandoned", cartValue=10)  # otherwise: exits at once
    drain(api)
    assert journeys(api, pid)["journeys"][0]["steps"]

    drain(api, "P31D")  # the default retention is 30 days

    kept = journeys(api, pid)["journeys"]
    assert kept[0]["status"] == "exited"  # the journey itself stays
    assert kept[0]["steps"] == []


def test_journeys_of_an_unknown_or_foreign_person_are_404(api: Api, other_api: Api) -> None:
    pid = person(api)
    assert api.get("/people/99999999/journeys").status_code == 404
    assert other_api.get(f"/people/{pid}/journeys").status_code == 404
    bad = api.get("/people/abc/journeys")
    assert bad.status_code == 422
    assert "person" in bad.text.lower() or "person_id" in bad.text
