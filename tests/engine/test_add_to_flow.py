"""add_to_flow end to end on the virtual clock, through the public API, on both databases:
variables go along, the target's frequency cap applies, a target that is not active and
a loop of flows adding each other are refused with a counted reason, and the person goes
on in the flow that added them."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, event, messages, perf, person
from tidings.domain.journey.elements.actions import MAX_HOPS


def target(api: Api, **changes: Any) -> int:
    doc: dict[str, Any] = {
        "name": "Target",
        "entry": {"type": "api"},
        "variables": [
            {"name": "code", "type": "text"},
            {"name": "amount", "type": "decimal", "default": "1.5"},
            {"name": "kept", "type": "text", "default": 'concat("default for ", person.firstName)'},
        ],
        "elements": [
            {
                "id": "t1",
                "type": "send_sms",
                "from": "Shop",
                "text": "{{ code }} / {{ amount }} / {{ kept }}",
            }
        ],
    }
    doc.update(changes)
    return int(launched(api, doc)["id"])


def source(api: Api, flow: int, **variables: str) -> int:
    define_events(api)
    doc = {
        "name": "Source",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "variables": [{"name": "v", "type": "text", "default": '"X"'}],
        "elements": [
            {
                "id": "add",
                "type": "add_to_flow",
                "flow": flow,
                "variables": variables,
                "next": "s1",
            },
            {"id": "s1", "type": "send_sms", "from": "Shop", "text": "still here"},
        ],
    }
    return int(launched(api, doc)["id"])


def texts(api: Api, flow: int) -> list[str]:
    return [m["text"] for m in messages(api, flow)]


def test_variables_are_transferred_and_the_person_goes_on(api: Api) -> None:
    t = target(api)
    s = source(api, t, code='concat(v, "-", toText(event.cartValue))', amount="event.cartValue * 2")
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    assert texts(api, t) == ["X-80 / 160 / default for Ana"]
    assert texts(api, s) == ["still here"]
    assert {m["person"] for m in messages(api)} == {pid}
    source_stats, target_stats = perf(api, s), perf(api, t)
    assert source_stats["elements"]["add"]["totalEngagements"] == 1
    assert "refused" not in source_stats["elements"]["add"]
    assert target_stats["flow"]["profilesInFlow"] == 1
    assert target_stats["flow"]["refusedEntries"] == {}


def test_the_targets_frequency_cap_applies(api: Api) -> None:
    t = target(api, settings={"reentry": {"enabled": False}})
    s = source(api, t, code='"hi"')
    pid = person(api)
    for value in (1, 2, 3):
        event(api, "CartAbandoned", cartValue=value)
        drain(api, "PT1H")
    assert texts(api, t) == ["hi / 1.5 / default for Ana"]  # once only
    assert texts(api, s) == ["still here"] * 3  # the source carries on every time
    assert perf(api, t)["flow"]["refusedEntries"] == {"reentryDisabled": 2}
    assert perf(api, s)["elements"]["add"]["refused"] == {"reentryDisabled": 2}
    refused = api.get(f"/people/{pid}/journeys").json()["refusedEntries"]
    assert [(r["flow"], r["reason"]) for r in refused] == [(t, "reentryDisabled")] * 2


def test_a_person_already_in_the_target_is_not_added_twice(api: Api) -> None:
    waiting = {
        "elements": [
            {"id": "w", "type": "wait", "duration": "P1D", "next": "t1"},
            {"id": "t1", "type": "send_sms", "from": "Shop", "text": "{{ code }}"},
        ]
    }
    t = target(api, **waiting)
    s = source(api, t, code='"hi"')
    person(api)
    event(api, "CartAbandoned", cartValue=1)
    drain(api, "PT1H")
    event(api, "CartAbandoned", cartValue=2)
    drain(api, "P2D")
    assert texts(api, t) == ["hi"]
    assert perf(api, s)["elements"]["add"]["refused"] == {"alreadyInFlow": 1}


def test_a_target_that_is_not_active_refuses_and_the_person_goes_on(api: Api) -> None:
    t = target(api)
    s = source(api, t, code='"hi"')
    pid = person(api)
    assert api.post(f"/flows/{t}/pause").status_code == 200
    event(api, "CartAbandoned", cartValue=1)
    drain(api, "PT1H")
    assert texts(api, t) == []
    assert texts(api, s) == ["still here"]
    assert perf(api, s)["elements"]["add"]["refused"] == {"targetNotActive": 1}
    [journey] = api.get(f"/people/{pid}/journeys").json()["journeys"]
    assert {"element": "add", "what": "not added", "why": f"targetNotActive: flow {t}"} in [
        {k: step[k] for k in ("element", "what", "why")} for step in journey["steps"]
    ]
    assert api.post(f"/flows/{t}/resume").status_code == 200
    event(api, "CartAbandoned", cartValue=2)
    drain(api, "PT1H")
    assert texts(api, t) == ["hi / 1.5 / default for Ana"]
    assert api.post(f"/flows/{t}/cancel").status_code == 200
    event(api, "CartAbandoned", cartValue=3)
    drain(api, "PT1H")
    assert perf(api, s)["elements"]["add"]["refused"] == {"targetNotActive": 2}
    assert texts(api, s) == ["still here"] * 3


def loop(api: Api, wait: str | None = None) -> tuple[int, int]:
    """Flow A adds to B and B adds back to A (B waiting `wait` first, when given)."""
    define_events(api)
    a_doc: dict[str, Any] = {
        "name": "A",
        "entry": {"type": "api"},
        "elements": [{"id": "sa", "type": "send_sms", "from": "Shop", "text": "A"}],
    }
    a = api.post("/flows", json=a_doc).json()["id"]
    b_elements: list[dict[str, Any]] = [
        {"id": "sb", "type": "send_sms", "from": "Shop", "text": "B", "next": "toA"},
        {"id": "toA", "type": "add_to_flow", "flow": a},
    ]
    if wait is not None:
        b_elements.insert(0, {"id": "w", "type": "wait", "duration": wait, "next": "sb"})
    b = launched(api, {"name": "B", "entry": {"type": "api"}, "elements": b_elements})["id"]
    a_doc["elements"][0]["next"] = "toB"
    a_doc["elements"].append({"id": "toB", "type": "add_to_flow", "flow": b})
    assert api.put(f"/flows/{a}/document", json=a_doc).status_code == 200
    assert api.post(f"/flows/{a}/launch").status_code == 200
    person(api)
    answer = api.post(f"/flows/{a}/participants", json={"person": {"externalId": "ana"}})
    assert answer.status_code == 202, answer.text
    return a, b


def test_a_loop_of_flows_adding_each_other_is_bounded(api: Api) -> None:
    a, b = loop(api)
    drain(api)  # returns: the loop stops by itself
    sent = [m["text"] for m in messages(api)]
    assert len(sent) == MAX_HOPS + 1  # the first entry, then MAX_HOPS adds
    assert sent[:4] == ["A", "B", "A", "B"]
    a_stats, b_stats = perf(api, a), perf(api, b)
    refused = {**a_stats["elements"]["toB"], **b_stats["elements"]["toA"]}["refused"]
    assert refused == {"loop": 1}
    assert a_stats["flow"]["profilesInFlow"] + b_stats["flow"]["profilesInFlow"] == 2
    drain(api, "P1D")
    assert len(messages(api)) == MAX_HOPS + 1  # and nothing more happens later


def test_a_loop_that_waits_is_a_schedule_not_a_runaway(api: Api) -> None:
    a, b = loop(api, wait="PT2H")  # B waits two hours each time: the chain starts again
    try:
        drain(api, "PT23H")
        sent = [m["text"] for m in messages(api)]
        assert sent == ["A"] + ["B", "A"] * 11  # every two hours, as drawn
        assert "refused" not in perf(api, a)["elements"]["toB"]
    finally:  # the clock is shared by the session: stop the schedule, as its owner would
        for flow in (a, b):
            assert api.post(f"/flows/{flow}/cancel").status_code == 200
        drain(api)
