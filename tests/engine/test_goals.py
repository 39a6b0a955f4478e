"""Goals end to end: performers once per participation, the value summed, the conversion
rate, and a goal set or changed after launch; through the public API on the virtual clock."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import event, messages, perf, person
from tests.engine.timing import advance_by

PHONES = ["+385911000001", "+385911000002", "+385911000003", "+385911000004"]


def goal_flow(
    api: Api, goal: dict[str, Any] | None, *, reentry: dict[str, Any] | None = None
) -> int:
    """Enters on CartAbandoned, waits a day, sends an SMS, exits."""
    settings: dict[str, Any] = {"reentry": reentry or {"enabled": True}}
    if goal is not None:
        settings["goal"] = goal
    doc = {
        "name": "Goal",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": settings,
        "elements": [
            {"id": "wait", "type": "wait", "duration": "P1D", "next": "sms"},
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Still there?"},
        ],
    }
    return int(launched(api, doc)["id"])


def people(api: Api, *names: str) -> None:
    for name, phone in zip(names, PHONES, strict=False):
        person(api, name, phones=[phone])


def flow_stats(api: Api, flow: int, version: str = "all") -> dict[str, Any]:
    stats: dict[str, Any] = perf(api, flow, version)["flow"]
    return stats


def test_performers_once_each_with_the_value_summed(api: Api) -> None:
    flow = goal_flow(api, {"event": "PurchaseFinished", "value": "event.amount"})
    people(api, "a", "b", "c")
    for name in ("a", "b", "c"):
        event(api, "CartAbandoned", name, cartValue=80)
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "a", amount=19.99)
    event(api, "PurchaseFinished", "a", amount=50)  # a second purchase: not again
    event(api, "PurchaseFinished", "b", amount=100.5)
    advance_by(api, "PT1H")
    stats = flow_stats(api, flow)
    assert stats["goalPerformers"] == 2
    assert stats["goalValue"] == 120.49
    a = api.get("/people", params={"externalId": "a"}).json()["items"][0]["id"]
    [journey] = api.get(f"/people/{a}/journeys").json()["journeys"]
    reached = [(s["element"], s["why"]) for s in journey["steps"] if s["what"] == "goal reached"]
    assert reached == [("wait", "PurchaseFinished, value 19.99")]
    assert stats["conversionRate"] == 0.6667
    # The goal wakes nobody: everyone still gets the SMS after the day's wait.
    advance_by(api, "P1D")
    assert len(messages(api, flow)) == 3
    event(api, "PurchaseFinished", "c", amount=10)  # after c left the flow
    advance_by(api)
    assert flow_stats(api, flow)["goalPerformers"] == 2
    assert flow_stats(api, flow, "1") == stats | {"messagesSent": 3, "profilesExited": 3}


def test_a_person_who_enters_again_can_perform_again(api: Api) -> None:
    flow = goal_flow(api, {"event": "PurchaseFinished"})
    people(api, "a", "b")
    for round_ in range(2):
        event(api, "CartAbandoned", "a", cartValue=80)
        if round_ == 0:
            event(api, "CartAbandoned", "b", cartValue=80)
        advance_by(api, "PT1H")
        event(api, "PurchaseFinished", "a", amount=1)
        advance_by(api, "P2D")
    stats = flow_stats(api, flow)
    assert stats["profilesInFlow"] == 2  # people
    assert stats["goalPerformers"] == 1  # a person, once, though a converted twice
    assert stats["conversionRate"] == 0.6667  # 2 of 3 entries met the goal
    assert stats["goalValue"] == 0


def test_the_goals_condition(api: Api) -> None:
    flow = goal_flow(
        api,
        {"event": "PurchaseFinished", "where": "event.amount >= 50", "value": "event.amount"},
    )
    people(api, "a")
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "a", amount=20)
    advance_by(api)
    assert flow_stats(api, flow)["goalPerformers"] == 0
    event(api, "PurchaseFinished", "a", amount=60)
    advance_by(api)
    assert (flow_stats(api, flow)["goalPerformers"], flow_stats(api, flow)["goalValue"]) == (1, 60)


def test_a_goal_set_after_launch_counts_for_people_already_inside(api: Api) -> None:
    flow = goal_flow(api, None)
    people(api, "a", "b")
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "a", amount=5)  # no goal yet
    advance_by(api)
    assert flow_stats(api, flow)["goalPerformers"] == 0
    goal = {"event": "PurchaseFinished", "value": "event.amount * 2"}
    changed = api.patch(f"/flows/{flow}/versions/1", json={"settings": {"goal": goal}})
    assert changed.status_code == 200, changed.text
    event(api, "PurchaseFinished", "a", amount=7)  # a is still inside, waiting
    advance_by(api)
    event(api, "CartAbandoned", "b", cartValue=80)  # and a newcomer
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "b", amount=1.5)
    advance_by(api)
    stats = flow_stats(api, flow)
    assert (stats["goalPerformers"], stats["goalValue"]) == (2, 17)
    assert stats["conversionRate"] == 1.0


def test_a_goal_changed_after_launch_counts_the_new_event_only(api: Api) -> None:
    flow = goal_flow(api, {"event": "PurchaseFinished"})
    api.post("/event-definitions", json={"name": "Signup", "properties": {}})
    people(api, "a", "b")
    for name in ("a", "b"):
        event(api, "CartAbandoned", name, cartValue=80)
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "a", amount=5)
    advance_by(api)
    changed = api.patch(
        f"/flows/{flow}/versions/1", json={"settings": {"goal": {"event": "Signup"}}}
    )
    assert changed.status_code == 200, changed.text
    event(api, "PurchaseFinished", "b", amount=5)  # no longer the goal
    event(api, "Signup", "b")
    event(api, "Signup", "a")  # a performed once already in this participation
    advance_by(api)
    assert flow_stats(api, flow)["goalPerformers"] == 2


def test_each_version_counts_its_own_performers(api: Api) -> None:
    flow = goal_flow(api, {"event": "PurchaseFinished", "value": "event.amount"})
    people(api, "a", "b")
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_by(api, "PT1H")
    assert api.post(f"/flows/{flow}/versions").status_code == 201
    document = api.get(f"/flows/{flow}").json()["document"]
    document["elements"][1]["text"] = "Version two"
    assert api.put(f"/flows/{flow}/document", json=document).status_code == 200
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    event(api, "CartAbandoned", "b", cartValue=80)
    advance_by(api, "PT1H")
    event(api, "PurchaseFinished", "a", amount=10)  # inside version 1, which finishes
    event(api, "PurchaseFinished", "b", amount=30)
    advance_by(api)
    assert (
        flow_stats(api, flow, "1")["goalPerformers"],
        flow_stats(api, flow, "1")["goalValue"],
    ) == (
        1,
        10,
    )
    assert flow_stats(api, flow, "2")["goalValue"] == 30
    both = flow_stats(api, flow)
    assert (both["goalPerformers"], both["goalValue"], both["conversionRate"]) == (2, 40, 1.0)
