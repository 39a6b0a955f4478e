"""Predefined audiences by every source (segments, tags, people, companies), by id and
by name, one-off and real-time, through the public API on both databases (issue #13,
faults 1 and 2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, person


def audience_doc(update: str = "never", **sources: Any) -> dict[str, Any]:
    return {
        "name": "Audience",
        "entry": {"type": "audience", "update": update, **sources},
        "elements": [{"id": "sms1", "type": "send_sms", "from": "ShopCo", "text": "Hi"}],
    }


def people_and_sources(api: Api) -> dict[str, Any]:
    """ana (HR, tag vip, company Acme), bo (DE, no tag, company Globex), cy (HR)."""
    assert api.post("/companies", json={"name": "Acme"}).status_code == 201
    assert api.post("/companies", json={"name": "Globex"}).status_code == 201
    ana = person(api, "ana", country="HR", tags=["vip"], companies=["Acme"])
    bo = person(api, "bo", country="DE", phones=["+385911234568"], companies=["Globex"])
    cy = person(api, "cy", country="HR", phones=["+385911234569"])
    rule = {"attribute": "country", "op": "eq", "value": "HR"}
    seg = api.post("/segments", json={"name": "Zagreb shoppers", "rule": rule})
    assert seg.status_code == 201, seg.text
    acme = api.get("/companies", params={"q": "Acme"}).json()["items"][0]["id"]
    return {"ana": ana, "bo": bo, "cy": cy, "segment": seg.json()["id"], "acme": acme}


def receivers(api: Api, flow: int) -> set[int]:
    return {m["person"] for m in messages(api, flow)}


CASES = {
    "segment by name": (lambda ids: {"segments": ["Zagreb shoppers"]}, {"ana", "cy"}),
    "segment by id": (lambda ids: {"segments": [ids["segment"]]}, {"ana", "cy"}),
    "tag": (lambda ids: {"tags": ["vip"]}, {"ana"}),
    "person by external id": (lambda ids: {"people": ["bo"]}, {"bo"}),
    "person by id": (lambda ids: {"people": [ids["cy"]]}, {"cy"}),
    "company by name": (lambda ids: {"companies": ["Globex"]}, {"bo"}),
    "company by id": (lambda ids: {"companies": [ids["acme"]]}, {"ana"}),
}


@pytest.mark.parametrize("update", ["never", "realtime"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_source_enters_its_people(api: Api, case: str, update: str) -> None:
    ids = people_and_sources(api)
    sources, expected = CASES[case]
    flow = api.post("/flows", json=audience_doc(update, **sources(ids))).json()["id"]
    dry = api.post(f"/flows/{flow}/launch", params={"dryRun": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["canLaunch"] is True, dry.json()["problems"]
    assert dry.json()["audienceSize"] == len(expected)
    launched = api.post(f"/flows/{flow}/launch")
    assert launched.status_code == 200, launched.text
    drain(api)
    assert receivers(api, flow) == {ids[name] for name in expected}


def test_a_realtime_audience_edited_in_place_to_a_segment_name_keeps_moving(
    api: Api, other_api: Api
) -> None:
    ids = people_and_sources(api)
    flow = api.post("/flows", json=audience_doc("realtime", tags=["vip"])).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    drain(api)
    edited = api.patch(
        f"/flows/{flow}/versions/1", json={"entry": {"segments": ["Zagreb shoppers"]}}
    )
    assert edited.status_code == 200, edited.text
    # Another account's flow moves in the same rounds.
    person(other_api, "zed")
    other = other_api.post("/flows", json=audience_doc(people=["zed"])).json()["id"]
    assert other_api.post(f"/flows/{other}/launch").status_code == 200
    drain(api, "PT1M")
    assert receivers(api, flow) == {ids["ana"], ids["cy"]}
    assert len(messages(other_api, other)) == 1
    assert api.get(f"/flows/{flow}").json()["status"] == "active"


def test_an_unknown_segment_name_is_a_problem_naming_it(api: Api) -> None:
    people_and_sources(api)
    flow = api.post("/flows", json=audience_doc(segments=["Nobody"])).json()["id"]
    dry = api.post(f"/flows/{flow}/launch", params={"dryRun": "true"}).json()
    assert dry["canLaunch"] is False
    assert any(p["field"] == "entry.segments.0" for p in dry["problems"])
    answer = api.post(f"/flows/{flow}/launch")
    assert answer.status_code == 409
    assert "Nobody" in answer.text


def test_a_one_off_campaign_launches_without_an_end_and_finishes_by_itself(api: Api) -> None:
    ids = people_and_sources(api)
    doc = audience_doc(segments=["Zagreb shoppers"])
    doc["elements"] = [
        {"id": "sms1", "type": "send_sms", "from": "ShopCo", "text": "Hi", "next": "w"},
        {"id": "w", "type": "wait", "duration": "P1D"},
    ]
    flow = api.post("/flows", json=doc).json()["id"]
    dry = api.post(f"/flows/{flow}/launch", params={"dryRun": "true"}).json()
    assert dry["canLaunch"] is True, dry["problems"]
    assert dry["schedule"]["runsIndefinitely"] is False
    assert "last person" in dry["schedule"]["note"]
    answer = api.post(f"/flows/{flow}/launch")
    assert answer.status_code == 200, answer.text
    drain(api)
    assert receivers(api, flow) == {ids["ana"], ids["cy"]}
    # Everyone entered; the two wait a day: still active (it can be paused).
    assert api.get(f"/flows/{flow}").json()["status"] == "active"
    person(api, "dee", country="HR", phones=["+385911234560"])
    drain(api, "PT12H")
    assert api.get(f"/flows/{flow}").json()["status"] == "active"
    drain(api, "P1D")
    flow_view = api.get(f"/flows/{flow}").json()
    assert flow_view["status"] == "finished"
    assert flow_view["versions"][0]["finishedAt"] is not None
    assert receivers(api, flow) == {ids["ana"], ids["cy"]}  # dee never entered


def test_a_one_off_campaign_of_nobody_finishes_at_once(api: Api) -> None:
    people_and_sources(api)
    flow = api.post("/flows", json=audience_doc(people=["nobody-here"])).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    drain(api)
    assert api.get(f"/flows/{flow}").json()["status"] == "finished"


def test_a_scheduled_one_off_campaign_enters_at_its_start(api: Api) -> None:
    ids = people_and_sources(api)
    now = datetime.fromisoformat(api.get("/clock").json()["now"])
    start = (now + timedelta(hours=12)).isoformat()
    doc = audience_doc(tags=["vip"])
    doc["settings"] = {"schedule": {"start": start}}
    flow = api.post("/flows", json=doc).json()["id"]
    answer = api.post(f"/flows/{flow}/launch")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "scheduled"
    drain(api)
    assert receivers(api, flow) == set()
    drain(api, "PT13H")
    assert receivers(api, flow) == {ids["ana"]}
    assert api.get(f"/flows/{flow}").json()["status"] == "finished"


@pytest.mark.parametrize("source", ["tags", "companies"])
def test_an_audience_of_one_tag_or_company_is_this_accounts_people(
    api: Api, other_api: Api, source: str
) -> None:
    """A launch by one tag or company (read from its link table) enters the people of this
    account who have it: not another account's with a tag or company of that name."""
    ids = people_and_sources(api)
    other_ids = people_and_sources(other_api)
    name = {"tags": "vip", "companies": "Acme"}[source]
    flow = api.post("/flows", json=audience_doc(**{source: [name]})).json()["id"]
    launched = api.post(f"/flows/{flow}/launch")
    assert launched.status_code == 200, launched.text
    drain(api)
    assert receivers(api, flow) == {ids["ana"]}
    assert other_ids["ana"] != ids["ana"]
    # by id, another account's company is nobody's here
    flow = api.post("/flows", json=audience_doc(companies=[other_ids["acme"]])).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    drain(api)
    assert receivers(api, flow) == set()
