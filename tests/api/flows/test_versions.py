"""Versions: history, new drafts, the entry that stays, in-place edits, stop, duplicate."""

from __future__ import annotations

from tests.api.flows.helpers import cart, launched, new_flow
from tests.conftest import Api


def test_a_new_version_runs_while_the_old_one_finishes(api: Api) -> None:
    flow = launched(api)
    fid = flow["id"]
    draft = api.post(f"/flows/{fid}/versions")
    assert draft.status_code == 201
    assert [v["status"] for v in draft.json()["versions"]] == ["active", "draft"]
    assert draft.json()["status"] == "active"  # the list shows the running version
    edited = cart()
    edited["elements"][0]["text"] = "Hi {{ person.firstName }}, fixed a typo"
    assert api.put(f"/flows/{fid}/document", json=edited).status_code == 200
    assert api.post(f"/flows/{fid}/launch").status_code == 200
    history = api.get(f"/flows/{fid}/versions").json()
    assert [(v["version"], v["status"]) for v in history] == [(1, "finishing"), (2, "active")]
    assert history[1]["launchedAt"] is not None
    assert set(history[0]) == {
        "version",
        "status",
        "createdAt",
        "launchedAt",
        "finishedAt",
        "failure",  # why a failed version failed (null otherwise): issue #13
    }
    assert history[0]["failure"] is None


def test_only_one_draft_version_at_a_time(api: Api) -> None:
    fid = launched(api)["id"]
    assert api.post(f"/flows/{fid}/versions").status_code == 201
    again = api.post(f"/flows/{fid}/versions")
    assert again.status_code == 409
    assert "already a draft" in again.json()["error"]["message"]


def test_the_entry_point_stays_in_new_versions(api: Api) -> None:
    fid = launched(api)["id"]
    api.post(f"/flows/{fid}/versions")
    switched = cart(entry={"type": "api"})
    answer = api.put(f"/flows/{fid}/document", json=switched)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "entry.type"
    removed = cart()
    del removed["entry"]
    answer = api.put(f"/flows/{fid}/document", json=removed)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "entry"


def test_audience_never_updated_cannot_get_a_new_version(api: Api) -> None:
    api.post("/tags", json={"name": "vip"})
    doc = cart(entry={"type": "audience", "tags": ["vip"], "update": "never"})
    doc["variables"] = []
    doc["elements"][0]["text"] = "Hello!"
    year = int(api.get("/clock").json()["now"][:4])
    doc["settings"]["schedule"] = {"start": None, "end": f"{year + 60}-01-01T00:00:00Z"}
    fid = launched(api, doc)["id"]
    refused = api.post(f"/flows/{fid}/versions")
    assert refused.status_code == 409
    assert "duplicate" in refused.json()["error"]["message"]


def test_goal_schedule_and_audience_change_in_place(api: Api) -> None:
    api.post("/tags", json={"name": "vip"})
    api.post("/tags", json={"name": "new"})
    doc = cart(entry={"type": "audience", "tags": ["vip"], "update": "realtime"})
    doc["variables"] = []
    doc["elements"][0]["text"] = "Hello!"
    fid = launched(api, doc)["id"]
    year = int(api.get("/clock").json()["now"][:4])
    changed = api.patch(
        f"/flows/{fid}/versions/1",
        json={
            "settings": {
                "goal": {"event": "CartAbandoned"},
                "schedule": {"start": None, "end": f"{year + 70}-01-01T00:00:00Z"},
            },
            "entry": {"tags": ["vip", "new"]},
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["document"]["settings"]["goal"] == {"event": "CartAbandoned"}
    assert body["document"]["entry"]["tags"] == ["vip", "new"]
    assert body["schedule"]["end"] == f"{year + 70}-01-01T00:00:00Z"
    assert body["versions"][0]["status"] == "active"


def test_anything_else_in_place_is_a_409_pointing_to_a_new_version(api: Api) -> None:
    fid = launched(api)["id"]
    for body in ({"elements": []}, {"settings": {"reentry": {"enabled": False}}}, {"name": "x"}):
        answer = api.patch(f"/flows/{fid}/versions/1", json=body)
        assert answer.status_code == 409, body
        assert "new version" in answer.json()["error"]["message"]
    bad_goal = api.patch(f"/flows/{fid}/versions/1", json={"settings": {"goal": {"event": "Nope"}}})
    assert bad_goal.status_code == 422
    assert bad_goal.json()["error"]["details"][0]["field"].startswith("settings.goal")
    assert api.get(f"/flows/{fid}").json()["document"]["settings"]["goal"] == {
        "event": "PurchaseFinished"
    }


def test_audience_of_an_event_flow_cannot_change(api: Api) -> None:
    fid = launched(api)["id"]
    answer = api.patch(f"/flows/{fid}/versions/1", json={"entry": {"tags": ["vip"]}})
    assert answer.status_code == 409


def test_stop_a_version_and_duplicate_a_version(api: Api) -> None:
    fid = launched(api)["id"]
    stopped = api.post(f"/flows/{fid}/versions/1/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "finishing"
    copy = api.post(f"/flows/{fid}/versions/1/duplicate")
    assert copy.status_code == 201
    assert copy.json()["status"] == "draft"
    assert copy.json()["document"]["elements"][0]["id"] == "sms1"


def test_draft_versions_can_be_deleted_but_not_the_only_one(api: Api) -> None:
    fid = launched(api)["id"]
    api.post(f"/flows/{fid}/versions")
    assert api.delete(f"/flows/{fid}/versions/1").status_code == 409
    assert api.delete(f"/flows/{fid}/versions/2").status_code == 204
    assert [v["version"] for v in api.get(f"/flows/{fid}/versions").json()] == [1]
    draft = new_flow(api)
    only = api.delete(f"/flows/{draft['id']}/versions/1")
    assert only.status_code == 409
    assert "delete the flow" in only.json()["error"]["message"]


def test_unknown_versions_and_bad_numbers(api: Api, other_api: Api) -> None:
    fid = launched(api)["id"]
    assert api.get(f"/flows/{fid}/versions").status_code == 200
    assert api.post(f"/flows/{fid}/versions/9/stop").status_code == 404
    assert api.post(f"/flows/{fid}/versions/0/stop").status_code == 422
    assert api.patch(f"/flows/{fid}/versions/1", content=b"[1]").status_code == 422
    assert api.patch(f"/flows/{fid}/versions/1", content=b"{oops").status_code == 400
    assert other_api.get(f"/flows/{fid}/versions").status_code == 404


def test_a_new_draft_starts_from_the_version_chosen(api: Api) -> None:
    """The guide's version menu: "Edit the entire flow through this version"."""
    fid = launched(api)["id"]
    assert api.post(f"/flows/{fid}/versions").status_code == 201
    edited = cart()
    edited["elements"][0]["text"] = "Version two"
    assert api.put(f"/flows/{fid}/document", json=edited).status_code == 200
    assert api.post(f"/flows/{fid}/launch").status_code == 200
    third = api.post(f"/flows/{fid}/versions", json={"from": 1})
    assert third.status_code == 201, third.text
    assert [v["status"] for v in third.json()["versions"]] == ["finishing", "active", "draft"]
    draft = api.get(f"/flows/{fid}/document").json()
    assert draft["elements"][0]["text"] == cart()["elements"][0]["text"]
    api.delete(f"/flows/{fid}/versions/3")
    newest = api.post(f"/flows/{fid}/versions", json={})  # the default: the newest
    assert newest.status_code == 201, newest.text
    assert api.get(f"/flows/{fid}/document").json()["elements"][0]["text"] == "Version two"


def test_a_new_draft_from_a_version_that_does_not_exist_names_from(api: Api) -> None:
    fid = launched(api)["id"]
    for body in ({"from": 7}, {"from": 0}, {"from": "one"}, {"from": None}):
        refused = api.post(f"/flows/{fid}/versions", json=body)
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["error"]["details"][0]["field"] == "from", body
    unknown = api.post(f"/flows/{fid}/versions", json={"version": 1})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "version"
    assert [v["version"] for v in api.get(f"/flows/{fid}/versions").json()] == [1]
