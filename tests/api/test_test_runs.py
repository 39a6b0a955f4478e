"""POST /flows/{id}/test-runs: the flow run in a throwaway system on a virtual clock (the
web app's Test run). The counts follow the flow and the people; the account's own people,
sandbox and flows are untouched."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.conftest import Api
from tidings.api.routes import test_runs as route

VIP: dict[str, Any] = {
    "name": "VIP greeting",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "hello",
            "type": "send_sms",
            "from": "Shop",
            "text": "Hi {{ person.firstName }}",
            "next": "isvip",
        },
        {
            "id": "isvip",
            "type": "segment",
            "branches": [{"name": "vip", "when": "person.vip == true"}],
            "next": {"vip": "gift", "otherwise": "nudge"},
        },
        {"id": "gift", "type": "send_sms", "from": "Shop", "text": "A gift for you"},
        {
            "id": "nudge",
            "type": "send_email",
            "from": "shop@example.com",
            "subject": "Come back, {{ person.firstName }}",
            "html": "<p>We miss you</p>",
        },
    ],
}


def vip_flow(api: Api) -> int:
    declared = api.post("/attributes", json={"name": "vip", "type": "boolean"})
    assert declared.status_code == 201, declared.text
    created = api.post("/flows", json=VIP)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def run(api: Api, flow: int, **body: Any) -> Any:
    return api.post(f"/flows/{flow}/test-runs", json=body)


def test_synthetic_people_go_through_the_sms_and_the_branch(api: Api) -> None:
    flow = vip_flow(api)
    answer = run(api, flow, people=20, days=2)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    elements = result["elements"]
    assert elements["hello"]["totalEngagements"] == 20
    assert elements["hello"]["messagesSent"] == 20
    assert elements["isvip"]["totalEngagements"] == 20
    assert elements["gift"]["totalEngagements"] == 0  # nobody synthetic is a VIP
    assert elements["nudge"]["messagesSent"] == 20
    assert elements["hello"]["name"] is None or isinstance(elements["hello"]["name"], str)
    assert result["flow"]["profilesInFlow"] == 20
    assert result["flow"]["id"] == flow
    assert result["flow"]["version"] == 1
    assert result["days"] == 2
    assert result["people"] == 20
    sms = [s for s in result["samples"] if s["element"] == "hello"]
    assert sms, result["samples"]
    assert sms[0]["channel"] == "sms"
    assert sms[0]["to"].startswith("+38591")
    assert sms[0]["text"].startswith("Hi ")
    email = [s for s in result["samples"] if s["element"] == "nudge"]
    assert email[0]["subject"].startswith("Come back, ")


def test_uploaded_profiles_take_the_branch_their_attribute_says(api: Api) -> None:
    flow = vip_flow(api)
    profiles = [
        {
            "externalId": "ana",
            "firstName": "Ana",
            "phones": ["+385911111111"],
            "attributes": {"vip": True},
        },
        {
            "externalId": "ivo",
            "firstName": "Ivo",
            "phones": ["+385912222222"],
            "attributes": {"vip": True},
        },
        {
            "externalId": "eva",
            "firstName": "Eva",
            "phones": ["+385913333333"],
            "emails": ["eva@example.com"],
            "attributes": {"vip": False},
        },
    ]
    answer = run(api, flow, profiles=profiles, days=1)
    assert answer.status_code == 200, answer.text
    elements = answer.json()["elements"]
    assert elements["hello"]["messagesSent"] == 3
    assert elements["gift"]["messagesSent"] == 2
    assert elements["nudge"]["totalEngagements"] == 1
    texts = {s["to"]: s.get("text") for s in answer.json()["samples"] if s["element"] == "hello"}
    assert set(texts.values()) <= {"Hi Ana", "Hi Ivo", "Hi Eva"}


def test_events_make_people_enter_an_event_flow(api: Api) -> None:
    made = api.post(
        "/event-definitions", json={"name": "CartAbandoned", "properties": {"cartValue": "decimal"}}
    )
    assert made.status_code == 201, made.text
    document = {
        "name": "Cart",
        "entry": {"type": "event", "event": "CartAbandoned", "where": "event.cartValue > 50"},
        "elements": [{"id": "remind", "type": "send_sms", "from": "Shop", "text": "Your cart"}],
    }
    flow = api.post("/flows", json=document).json()["id"]
    events = [
        {"person": "p1", "name": "CartAbandoned", "at": "PT1H", "properties": {"cartValue": 60}},
        {"person": "p2", "name": "CartAbandoned", "at": "PT2H", "properties": {"cartValue": 10}},
        {"person": "p3", "name": "CartAbandoned", "properties": {"cartValue": 99.5}},
    ]
    answer = run(api, flow, people=5, days=1, events=events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["elements"]["remind"]["messagesSent"] == 2
    assert answer.json()["flow"]["profilesInFlow"] == 2
    # without events nobody enters, and the answer says why
    quiet = run(api, flow, people=5, days=1).json()
    assert quiet["elements"]["remind"]["totalEngagements"] == 0
    assert any("events" in note for note in quiet["notes"])


def test_an_audience_entry_is_played_by_the_test_people(api: Api) -> None:
    assert api.post("/tags", json={"name": "newsletter"}).status_code == 201
    document = {
        "name": "Campaign",
        "entry": {"type": "audience", "tags": ["newsletter"]},
        "elements": [{"id": "promo", "type": "send_sms", "from": "Shop", "text": "Sale"}],
    }
    flow = api.post("/flows", json=document).json()["id"]
    answer = run(api, flow, people=7, days=1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["elements"]["promo"]["messagesSent"] == 7
    assert any("audience" in note for note in answer.json()["notes"])


def test_nothing_reaches_the_account(api: Api) -> None:
    flow = vip_flow(api)
    assert run(api, flow, people=10, days=1).status_code == 200
    assert api.get("/people").json()["items"] == []
    assert api.get("/sandbox/messages").json()["items"] == []
    view = api.get(f"/flows/{flow}").json()
    assert view["status"] == "draft"
    assert [v["status"] for v in view["versions"]] == ["draft"]
    assert api.get(f"/flows/{flow}/performance").json()["flow"]["profilesInFlow"] == 0


def test_a_version_can_be_tested(api: Api) -> None:
    flow = vip_flow(api)
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    answer = run(api, flow, version=1, people=3, days=1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["elements"]["hello"]["messagesSent"] == 3
    assert run(api, flow, version=2, people=3).status_code == 404


def test_a_flow_with_problems_answers_them_as_validate_does(api: Api) -> None:
    broken = {**VIP, "elements": [{**VIP["elements"][0], "from": None}, *VIP["elements"][1:]]}
    assert api.post("/attributes", json={"name": "vip", "type": "boolean"}).status_code == 201
    flow = api.post("/flows", json=broken).json()["id"]
    problems = api.post(f"/flows/{flow}/validate").json()["problems"]
    assert problems
    answer = run(api, flow, people=3)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"] == problems


def test_another_accounts_flow_is_not_found(api: Api, other_api: Api) -> None:
    flow = vip_flow(api)
    assert run(other_api, flow, people=3).status_code == 404
    assert run(api, 999_999, people=3).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"people": 0}, "people"),
        ({"people": 1001}, "people"),
        ({"people": "many"}, "people"),
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"colour": "red"}, "colour"),
        ({"people": 2, "profiles": [{"externalId": "a"}]}, "profiles"),
        ({"profiles": []}, "profiles"),
        ({"profiles": [{}] * 1001}, "profiles"),
        (
            {"profiles": [{"externalId": "a"}, {"externalId": "b", "phones": ["nope"]}]},
            "profiles.1",
        ),
        ({"events": [{"person": "p1", "name": "X", "at": "soon"}]}, "events.0.at"),
        ({"events": [{"person": "p1"}]}, "events.0.name"),
        ({"events": [{"person": "p1", "name": "X", "when": "PT1H"}]}, "events.0.when"),
        ({"events": [{"person": "nobody", "name": "X"}]}, "events"),
        ({"version": 0}, "version"),
        ({"profiles": [{"externalId": None}]}, "profiles.0.externalId"),
        ({"profiles": [{"externalId": "a"}, {"externalId": "a"}]}, "profiles.1.externalId"),
        ({"profiles": [{"externalId": "a", "attributes": {"bad name": 1}}]}, "profiles"),
        ({"events": [{"person": "p1", "name": "has space"}]}, "events"),
        ({"events": [{"person": "p1", "name": "X", "properties": {"a b": 1}}]}, "events"),
    ],
)
def test_bad_input_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    flow = vip_flow(api)
    answer = run(api, flow, **body)
    assert answer.status_code == 422, answer.text
    fields = [d["field"] for d in answer.json()["error"]["details"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert api.get("/people").json()["items"] == []


def test_a_run_past_its_time_limit_stops(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = vip_flow(api)
    monkeypatch.setattr(route, "TIME_LIMIT_SECONDS", 0.0)
    answer = run(api, flow, people=5, days=3)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "days"
    assert "time limit" in answer.json()["error"]["message"]
    monkeypatch.undo()
    assert run(api, flow, people=5, days=1).status_code == 200  # the next run is not blocked


def test_one_run_at_a_time_while_other_requests_keep_flowing(api: Api) -> None:
    flow = vip_flow(api)
    answers: list[Any] = []

    def run_big() -> None:  # until it gets its turn (a small run may hold it first)
        while (answer := run(api, flow, people=1000, days=2)).status_code == 409:
            time.sleep(0.01)
        answers.append(answer)

    big = threading.Thread(target=run_big)
    big.start()
    refused = flowing = 0
    while big.is_alive():
        assert api.get(f"/flows/{flow}").status_code == 200  # not stuck behind the run
        flowing += 1
        second = run(api, flow, people=1, days=1)
        if second.status_code == 409:
            refused += 1
            assert "already running" in second.json()["error"]["message"]
        else:
            assert second.status_code == 200, second.text
        time.sleep(0.05)
    big.join()
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["elements"]["hello"]["messagesSent"] == 1000
    assert refused >= 1
    assert flowing >= 1


def test_what_a_throwaway_system_cannot_copy_is_refused_by_name(api: Api) -> None:
    other = api.post("/flows", json={"name": "Other", "entry": {"type": "api"}}).json()["id"]
    document = {
        "name": "Hand over",
        "entry": {"type": "api"},
        "elements": [{"id": "pass", "type": "add_to_flow", "flow": other}],
    }
    flow = api.post("/flows", json=document).json()["id"]
    assert api.post(f"/flows/{flow}/validate").json()["problems"] == []
    answer = run(api, flow, people=2, days=1)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"] == "a test run cannot reproduce this flow"
    assert answer.json()["error"]["details"][0]["element"] == "pass"
