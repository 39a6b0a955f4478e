"""Journeys end to end on the virtual clock, through the public API, on both databases."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import cart, define_events, launched
from tests.conftest import Api


def person(api: Api, external_id: str = "ana", **fields: Any) -> int:
    body = {
        "externalId": external_id,
        "firstName": "Ana",
        "phones": ["+385911234567"],
        "emails": ["ana@example.com"],
        **fields,
    }
    answer = api.post("/people", json=body)
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def event(api: Api, name: str, external_id: str = "ana", **properties: Any) -> None:
    answer = api.post(
        "/events",
        json={"person": {"externalId": external_id}, "name": name, "properties": properties},
    )
    assert answer.status_code == 202, answer.text


def drain(api: Api, by: str = "PT0S") -> None:
    assert api.post("/clock/advance", json={"by": by}).status_code == 200


def messages(api: Api, flow: int | None = None) -> list[dict[str, Any]]:
    params = {"limit": 1000} | ({"flow": flow} if flow else {})
    items: list[dict[str, Any]] = api.get("/sandbox/messages", params=params).json()["items"]
    return items


def perf(api: Api, flow: int, version: str = "all") -> dict[str, Any]:
    answer = api.get(f"/flows/{flow}/performance", params={"version": version})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def no_window() -> dict[str, Any]:
    doc = cart()
    del doc["settings"]["sendWindow"]  # send windows come with the next issue
    return doc


def test_an_event_starts_the_journey_and_the_sms_reaches_the_sandbox(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    sent = messages(api, flow)
    assert len(sent) == 1
    sms = sent[0]
    assert sms["channel"] == "sms"
    assert sms["to"] == "+385911234567"
    assert sms["from"] == "ShopCo"
    assert sms["text"] == "Hi Ana, your cart of 80 EUR is waiting"
    assert sms["parts"] == 1
    assert sms["person"] == pid
    assert sms["element"] == "sms1"
    stats = perf(api, flow)
    assert stats["flow"]["profilesInFlow"] == 1
    assert stats["flow"]["messagesSent"] == 1
    assert stats["elements"]["sms1"]["totalEngagements"] == 1
    assert stats["elements"]["sms1"]["uniqueEngagements"] == 1
    assert stats["elements"]["sms1"]["messagesSent"] == 1


def test_the_entry_condition_filters(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=20)
    drain(api)
    assert messages(api, flow) == []
    assert perf(api, flow)["flow"]["profilesInFlow"] == 0


def test_the_awaited_event_takes_the_event_branch(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api, "PT1H")
    event(api, "PurchaseFinished", amount=80)
    drain(api)
    assert "buyer" in api.get(f"/people/{pid}").json()["tags"]
    drain(api, "P2D")
    assert [m["channel"] for m in messages(api, flow)] == ["sms"]  # no reminder email
    assert perf(api, flow)["flow"]["profilesExited"] == 1


def test_the_timeout_sends_the_email(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api, "PT23H")
    assert [m["channel"] for m in messages(api, flow)] == ["sms"]
    drain(api, "PT2H")
    sent = messages(api, flow)
    assert [m["channel"] for m in sent] == ["sms", "email"]
    assert sent[1]["to"] == "ana@example.com"
    assert sent[1]["subject"] == "Still thinking?"


def capped(api: Api, reentry: dict[str, Any]) -> int:
    define_events(api)
    doc = {
        "name": "Capped",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"reentry": reentry},
        "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"}],
    }
    return int(launched(api, doc)["id"])


def test_the_frequency_cap_refuses_and_counts_each_reason(api: Api) -> None:
    flow = capped(api, {"enabled": True, "delay": "PT24H", "limits": [{"max": 2, "per": "P7D"}]})
    person(api)
    event(api, "CartAbandoned", cartValue=1)  # enters and exits at once
    drain(api, "PT1H")
    event(api, "CartAbandoned", cartValue=2)  # 1 h after the exit: the delay refuses
    drain(api, "PT24H")
    event(api, "CartAbandoned", cartValue=3)  # 25 h after: enters, second in 7 days
    drain(api, "PT25H")
    event(api, "CartAbandoned", cartValue=4)  # delay passed, but 2 entries in 7 days
    drain(api, "P6D")
    event(api, "CartAbandoned", cartValue=5)  # the first entry left the window
    drain(api)
    assert len(messages(api, flow)) == 3
    stats = perf(api, flow)["flow"]
    assert stats["refusedEntries"] == {"reentryDelay": 1, "entryLimit": 1}
    assert stats["profilesInFlow"] == 1


def test_reentry_disabled_lets_a_person_in_once(api: Api) -> None:
    flow = capped(api, {"enabled": False})
    person(api)
    for value in (1, 2, 3):
        event(api, "CartAbandoned", cartValue=value)
        drain(api, "P1D")
    assert len(messages(api, flow)) == 1
    assert perf(api, flow)["flow"]["refusedEntries"] == {"reentryDisabled": 2}


def test_one_person_is_in_a_flow_once_at_a_time(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=80)
    event(api, "CartAbandoned", cartValue=90)
    drain(api)
    assert len(messages(api, flow)) == 1
    assert perf(api, flow)["flow"]["refusedEntries"] == {"alreadyInFlow": 1}


def test_the_flow_api_entry(api: Api) -> None:
    define_events(api)
    doc = {
        "name": "API",
        "entry": {"type": "api"},
        "variables": [{"name": "code", "type": "text"}],
        "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Code {{ code }}"}],
    }
    flow = launched(api, doc)["id"]
    answer = api.post(
        f"/flows/{flow}/participants",
        json={
            "person": {"externalId": "new-person", "phones": ["+385911234567"]},
            "variables": {"code": "X1"},
        },
        headers={"Idempotency-Key": "k1"},
    )
    assert answer.status_code == 202, answer.text
    again = api.post(
        f"/flows/{flow}/participants",
        json={"person": {"externalId": "new-person"}, "variables": {"code": "X1"}},
        headers={"Idempotency-Key": "k1"},
    )
    assert again.json() == answer.json()
    drain(api)
    assert [m["text"] for m in messages(api, flow)] == ["Code X1"]
    bad = api.post(
        f"/flows/{flow}/participants",
        json={"person": {"externalId": "x"}, "variables": {"nope": 1}},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "variables.nope"


def test_the_flow_api_refuses_other_entries_and_inactive_flows(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    answer = api.post(f"/flows/{flow}/participants", json={"person": {"externalId": "x"}})
    assert answer.status_code == 409
    api.post(f"/flows/{flow}/cancel")
    assert (
        api.post(f"/flows/{flow}/participants", json={"person": {"externalId": "x"}}).status_code
        == 409
    )


def test_a_predefined_audience_enters_at_launch_and_realtime_joiners_later(api: Api) -> None:
    define_events(api)
    person(api, "a", tags=["vip"])
    person(api, "b", tags=["vip"])
    person(api, "c", tags=["other"])
    doc = {
        "name": "VIP",
        "entry": {"type": "audience", "tags": ["vip"], "update": "realtime"},
        "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello VIP"}],
    }
    flow = launched(api, doc)["id"]
    drain(api)
    assert len(messages(api, flow)) == 2
    api.patch(
        f"/people/{api.get('/people', params={'externalId': 'c'}).json()['items'][0]['id']}",
        json={"tags": ["vip"]},
    )
    drain(api, "PT1M")
    assert len(messages(api, flow)) == 3
    assert perf(api, flow)["flow"]["profilesInFlow"] == 3


def test_pause_holds_and_resume_fires_overdue_waits(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    api.post(f"/flows/{flow}/pause")
    drain(api, "P3D")
    assert [m["channel"] for m in messages(api, flow)] == ["sms"]
    api.post(f"/flows/{flow}/resume")
    drain(api)
    assert [m["channel"] for m in messages(api, flow)] == ["sms", "email"]


def test_cancel_ends_every_participation(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    api.post(f"/flows/{flow}/cancel")
    drain(api, "P3D")
    assert [m["channel"] for m in messages(api, flow)] == ["sms"]


def test_a_new_version_takes_new_entries_while_the_old_finishes(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    person(api, "a")
    event(api, "CartAbandoned", "a", cartValue=80)
    drain(api)
    api.post(f"/flows/{flow}/versions")
    doc = no_window()
    doc["elements"][0]["text"] = "Version two"
    api.put(f"/flows/{flow}/document", json=doc)
    api.post(f"/flows/{flow}/launch")
    person(api, "b", phones=["+385911234568"])
    event(api, "CartAbandoned", "b", cartValue=80)
    drain(api, "P2D")
    texts = [(m["version"], m["channel"]) for m in messages(api, flow)]
    assert (1, "email") in texts  # the old version finished its person
    assert (2, "sms") in texts
    assert perf(api, flow, "2")["flow"]["profilesInFlow"] == 1
    assert perf(api, flow)["flow"]["profilesInFlow"] == 2
    history = {v["version"]: v["status"] for v in api.get(f"/flows/{flow}/versions").json()}
    assert history[2] == "active"


def test_audience_sources_added_enter_at_once_and_removed_ones_keep_their_people(
    api: Api,
) -> None:
    define_events(api)
    person(api, "a", tags=["vip"])
    person(api, "b", tags=["gold"], phones=["+385911234568"])
    doc = {
        "name": "VIP",
        "entry": {"type": "audience", "tags": ["vip"], "update": "realtime"},
        "elements": [
            {"id": "w", "type": "wait", "duration": "P1D", "next": "s"},
            {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello"},
        ],
    }
    flow = launched(api, doc)["id"]
    changed = api.post(
        f"/flows/{flow}/audience", json={"add": {"tags": ["gold"]}, "remove": {"tags": ["vip"]}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["document"]["entry"]["tags"] == ["gold"]
    drain(api, "P2D")
    assert len(messages(api, flow)) == 2  # a stayed inside after vip was removed


def test_audience_changes_need_a_realtime_audience(api: Api) -> None:
    flow = launched(api, no_window())["id"]
    answer = api.post(f"/flows/{flow}/audience", json={"add": {"tags": ["x"]}})
    assert answer.status_code == 409
    assert api.post(f"/flows/{flow}/audience", json={"add": {"colour": ["x"]}}).status_code == 422
