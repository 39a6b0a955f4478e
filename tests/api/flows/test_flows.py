"""/flows: create, read, list, documents, validation, launch, duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows.helpers import cart, define_events, launched, new_flow
from tests.conftest import Api


def test_create_read_and_the_document_round_trip(api: Api) -> None:
    flow = new_flow(api)
    assert flow["status"] == "draft"
    assert flow["version"] == 1
    assert flow["name"] == "Cart abandonment"
    again = api.get(f"/flows/{flow['id']}").json()
    assert again["document"] == flow["document"]
    document = api.get(f"/flows/{flow['id']}/document").json()
    assert document["elements"][0]["text"].startswith("Hi {{ person.firstName }}")


def test_validate_returns_every_problem_with_element_and_field(api: Api) -> None:
    define_events(api)
    broken = cart(name="")
    broken["elements"][0]["from"] = None
    broken["elements"][2]["subject"] = ""
    broken["elements"][1]["next"] = {"event": "nowhere", "timeout": "email1"}
    flow = api.post("/flows", json=broken).json()
    problems = api.post(f"/flows/{flow['id']}/validate").json()["problems"]
    found = {(p.get("element"), p["field"]) for p in problems}
    assert (None, "name") in found
    assert ("sms1", "from") in found
    assert ("email1", "subject") in found
    assert ("wait1", "next.event") in found
    assert all(p["message"] for p in problems)


def test_launch_refuses_while_problems_remain(api: Api) -> None:
    flow = new_flow(api, cart(name=""))
    answer = api.post(f"/flows/{flow['id']}/launch")
    assert answer.status_code == 409
    assert {"field": "name"}.items() <= answer.json()["error"]["details"][0].items()
    assert api.get(f"/flows/{flow['id']}").json()["status"] == "draft"


def test_dry_run_shows_the_lift_off_page_and_changes_nothing(api: Api) -> None:
    flow = new_flow(api)
    summary = api.post(f"/flows/{flow['id']}/launch", params={"dryRun": "true"}).json()
    assert summary["entry"] == "People who trigger CartAbandoned where event.cartValue > 50"
    assert summary["canLaunch"] is True
    assert summary["problems"] == []
    assert {"channel": "sms", "from": "ShopCo"} in summary["channels"]
    assert summary["goal"] == {"event": "PurchaseFinished"}
    assert "2" in summary["reentry"]
    assert summary["schedule"]["runsIndefinitely"] is True
    assert api.get(f"/flows/{flow['id']}").json()["status"] == "draft"


def test_launch_adds_exits_to_every_open_branch(api: Api) -> None:
    flow = launched(api)
    assert flow["status"] == "active"
    elements = {e["id"]: e for e in flow["document"]["elements"]}
    exits = [e for e in elements.values() if e["type"] == "exit"]
    assert len(exits) == 2  # after email1 and after thanks
    assert elements["email1"]["next"] in {e["id"] for e in exits}
    assert elements["thanks"]["next"] in {e["id"] for e in exits}


def test_a_future_start_schedules_the_flow_and_the_clock_starts_it(api: Api) -> None:
    now = api.get("/clock").json()["now"]
    year = int(now[:4])
    doc = cart()
    doc["settings"]["schedule"] = {"start": f"{year + 1}-01-01T09:00:00+01:00", "end": None}
    flow = launched(api, doc)
    assert flow["status"] == "scheduled"
    assert flow["schedule"]["start"] == f"{year + 1}-01-01T08:00:00Z"
    api.post("/clock/advance", json={"to": f"{year + 1}-01-01T08:00:00Z"})
    assert api.get(f"/flows/{flow['id']}").json()["status"] == "active"


def test_a_schedule_end_stops_the_flow(api: Api) -> None:
    now = api.get("/clock").json()["now"]
    doc = cart()
    doc["settings"]["schedule"] = {"start": None, "end": f"{int(now[:4]) + 5}-06-01T00:00:00Z"}
    flow = launched(api, doc)
    api.post("/clock/advance", json={"to": f"{int(now[:4]) + 5}-06-01T00:00:00Z"})
    # Nobody was inside, so the version finished at once (with people it stays finishing).
    assert api.get(f"/flows/{flow['id']}").json()["versions"][0]["status"] == "finished"
    assert (
        api.post(
            f"/flows/{flow['id']}/participants", json={"person": {"externalId": "x"}}
        ).status_code
        == 409
    )


def test_a_flow_without_end_stops_after_a_quiet_year(api: Api) -> None:
    flow = launched(api)
    api.post("/clock/advance", json={"by": "P364D"})
    assert api.get(f"/flows/{flow['id']}").json()["status"] == "active"
    api.post("/clock/advance", json={"by": "P2D"})
    assert api.get(f"/flows/{flow['id']}").json()["status"] == "finished"


def test_list_filters_searches_sorts_and_pages(api: Api) -> None:
    define_events(api)
    first = api.post("/flows", json=cart(name="Spring sale")).json()
    second = api.post("/flows", json=cart(name="Summer sale")).json()
    api.post("/flows", json=cart(name="Welcome"))
    api.post(f"/flows/{first['id']}/launch")
    api.post("/clock/advance", json={"by": "PT1S"})
    api.put(f"/flows/{second['id']}/document", json=cart(name="Summer sale!"))
    names = [f["name"] for f in api.get("/flows").json()["items"]]
    assert names[0] == "Summer sale!"  # changed last
    assert [f["name"] for f in api.get("/flows", params={"q": "SALE"}).json()["items"]] == [
        "Summer sale!",
        "Spring sale",
    ]
    active = api.get("/flows", params={"status": "active"}).json()["items"]
    assert [f["id"] for f in active] == [first["id"]]
    page = api.get("/flows", params={"limit": 2}).json()
    assert len(page["items"]) == 2
    assert page["hasMore"] is True
    assert api.get("/flows", params={"q": "100%"}).json()["items"] == []


def test_delete_only_drafts(api: Api) -> None:
    draft = new_flow(api)
    assert api.delete(f"/flows/{draft['id']}").status_code == 204
    assert api.get(f"/flows/{draft['id']}").status_code == 404
    live = launched(api)
    refused = api.delete(f"/flows/{live['id']}")
    assert refused.status_code == 409
    assert "only drafts" in refused.json()["error"]["message"]


def test_duplicate_any_status_into_a_new_draft(api: Api) -> None:
    live = launched(api)
    copy = api.post(f"/flows/{live['id']}/duplicate")
    assert copy.status_code == 201
    body = copy.json()
    assert body["status"] == "draft"
    assert body["id"] != live["id"]
    assert body["duplicateOf"] == live["id"]
    assert body["name"] == "Cart abandonment (copy)"
    assert api.post(f"/flows/{body['id']}/launch").status_code == 200


def _inbound(keyword: str | None = "JOIN") -> dict[str, Any]:
    entry = {"type": "inbound", "channel": "sms", "number": "+385911234567", "keyword": keyword}
    doc = cart(entry=entry)
    doc["variables"] = []
    doc["elements"][0]["text"] = "Welcome!"
    return doc


def test_an_inbound_flow_cannot_be_duplicated_while_it_holds_the_number(api: Api) -> None:
    """The guide: a duplicate of an Inbound SMS flow cannot be created, because one inbound
    number and keyword cannot be used in two flows."""
    original = launched(api, _inbound())
    fid = original["id"]
    flows_before = [f["id"] for f in api.get("/flows").json()["items"]]
    for path in (f"/flows/{fid}/duplicate", f"/flows/{fid}/versions/1/duplicate"):
        refused = api.post(path)
        assert refused.status_code == 409, refused.text
        message = refused.json()["error"]["message"]
        assert "+385911234567" in message, message
        assert "JOIN" in message, message
        assert f"flow {fid}" in message, message
    assert api.post(f"/flows/{fid}/pause").status_code == 200
    assert api.post(f"/flows/{fid}/duplicate").status_code == 409  # paused: still holds it
    assert [f["id"] for f in api.get("/flows").json()["items"]] == flows_before  # none made
    api.post(f"/flows/{fid}/cancel")
    copy = api.post(f"/flows/{fid}/duplicate")
    assert copy.status_code == 201, copy.text
    assert api.post(f"/flows/{copy.json()['id']}/launch").status_code == 200


def test_an_inbound_flow_on_a_whole_number_is_not_duplicated_either(api: Api) -> None:
    fid = launched(api, _inbound(None))["id"]
    refused = api.post(f"/flows/{fid}/duplicate")
    assert refused.status_code == 409, refused.text
    assert "every message" in refused.json()["error"]["message"]


def test_a_draft_inbound_flow_can_be_duplicated(api: Api) -> None:
    draft = new_flow(api, _inbound())
    assert api.post(f"/flows/{draft['id']}/duplicate").status_code == 201


@pytest.mark.parametrize(
    ("document", "field", "element"),
    [
        ({"name": "x", "elements": [{"id": "a", "type": "teleport"}]}, "type", "a"),
        ({"name": "x", "elements": [{"id": "a", "type": "wait", "duration": 5}]}, "duration", "a"),
        ({"name": "x", "colour": "red"}, "colour", None),
        ({"name": "x", "elements": [{"id": "a", "type": "send_sms", "txt": "hi"}]}, "txt", "a"),
        ({"name": 5}, "name", None),
        ([1, 2], "", None),
    ],
)
def test_malformed_documents_are_refused_naming_element_and_field(
    api: Api, document: Any, field: str, element: str | None
) -> None:
    answer = api.post("/flows", json=document)
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert any(d["field"] == field and d.get("element") == element for d in details), details
    assert api.get("/flows").json()["items"] == []


def test_oversize_documents_are_refused(api: Api) -> None:
    too_many = {
        "name": "big",
        "elements": [{"id": f"w{i}", "type": "wait", "duration": "PT1M"} for i in range(501)],
    }
    assert api.post("/flows", json=too_many).status_code == 422
    huge = cart(
        name="x" * 10,
        elements=[{"id": "s", "type": "send_sms", "from": "A", "text": "y" * 1_100_000}],
    )
    assert api.post("/flows", json=huge).status_code == 413
    assert api.get("/flows").json()["items"] == []


def test_put_document_only_on_drafts_and_refuses_bad_ones_whole(api: Api) -> None:
    flow = new_flow(api)
    bad = api.put(f"/flows/{flow['id']}/document", json={"name": "x", "elements": [{"id": "a"}]})
    assert bad.status_code == 422
    assert api.get(f"/flows/{flow['id']}/document").json()["name"] == "Cart abandonment"
    api.post(f"/flows/{flow['id']}/launch")
    refused = api.put(f"/flows/{flow['id']}/document", json=cart(name="Changed"))
    assert refused.status_code == 409
    assert "new version" in refused.json()["error"]["message"]


def test_json_schema_is_published(api: Api) -> None:
    schema = api.get("/schema/flow").json()
    assert schema["title"] == "Tidings flow document"
    assert "elements" in schema["properties"]
    assert schema["properties"]["name"]["description"]
