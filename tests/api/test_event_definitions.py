"""/event-definitions: the canonical resource, and its bad input."""

from __future__ import annotations

import pytest

from tests.conftest import Api


def test_create_read_list_update_delete(api: Api) -> None:
    created = api.post(
        "/event-definitions",
        json={"name": "CartAbandoned", "properties": {"cartValue": "decimal", "items": "list"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["properties"] == {"cartValue": "decimal", "items": "list"}

    assert api.get("/event-definitions/CartAbandoned").json()["name"] == "CartAbandoned"
    names = [d["name"] for d in api.get("/event-definitions").json()["items"]]
    assert "CartAbandoned" in names
    assert "message.delivered" in names

    patched = api.patch("/event-definitions/CartAbandoned", json={"properties": {"coupon": "text"}})
    assert patched.status_code == 200
    assert patched.json()["properties"] == {
        "cartValue": "decimal",
        "items": "list",
        "coupon": "text",
    }

    assert api.delete("/event-definitions/CartAbandoned").status_code == 204
    assert api.get("/event-definitions/CartAbandoned").status_code == 404


def test_paging(api: Api) -> None:
    for i in range(3):
        api.post("/event-definitions", json={"name": f"E{i}"})
    page = api.get("/event-definitions", params={"limit": 2, "offset": 0}).json()
    assert len(page["items"]) == 2
    assert page["hasMore"] is True
    rest = api.get("/event-definitions", params={"limit": 1000, "offset": 2}).json()
    assert rest["hasMore"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "E", "properties": {"x": "money"}}, "properties.x"),
        ({"name": "E", "properties": {"a": "list", "b": "list"}}, "properties"),
        ({"name": "E", "colour": "red"}, "colour"),
        ({"properties": {}}, "name"),
        ({"name": 5}, "name"),
    ],
)
def test_bad_input_names_the_field(api: Api, body: dict[str, object], field: str) -> None:
    answer = api.post("/event-definitions", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert api.get("/event-definitions", params={"limit": 1000}).json()["items"][-1]["standard"]


def test_duplicate_and_standard_events_conflict(api: Api) -> None:
    assert api.post("/event-definitions", json={"name": "Signup"}).status_code == 201
    assert api.post("/event-definitions", json={"name": "Signup"}).status_code == 409
    assert api.post("/event-definitions", json={"name": "message.clicked"}).status_code == 409
    assert api.delete("/event-definitions/message.clicked").status_code == 409
    changed = api.patch("/event-definitions/Signup", json={"properties": {"x": "text"}})
    assert changed.status_code == 200
    retype = api.patch("/event-definitions/Signup", json={"properties": {"x": "integer"}})
    assert retype.status_code == 409


def test_malformed_json_is_400(api: Api) -> None:
    answer = api.post(
        "/event-definitions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_json"


def test_other_account_sees_nothing(api: Api, other_api: Api) -> None:
    api.post("/event-definitions", json={"name": "Private"})
    assert other_api.get("/event-definitions/Private").status_code == 404
    assert other_api.delete("/event-definitions/Private").status_code == 404
    assert api.get("/event-definitions/Private").status_code == 200


def test_requests_without_a_valid_key_are_401(api: Api) -> None:
    assert api.client.get("/api/v1/event-definitions").status_code == 401
    bad = api.client.get("/api/v1/event-definitions", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorized"
