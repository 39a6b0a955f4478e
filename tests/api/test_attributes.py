"""/attributes: declared custom person attributes, and how people's values follow them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def test_create_read_list_update_delete(api: Api) -> None:
    created = api.post(
        "/attributes",
        json={"name": "loyaltyPoints", "type": "integer", "description": "Points earned"},
    )
    assert created.status_code == 201, created.text
    attribute = created.json()
    assert attribute["type"] == "integer"
    assert attribute["description"] == "Points earned"
    assert api.get("/attributes/loyaltyPoints").json() == attribute
    api.post("/attributes", json={"name": "born", "type": "date"})
    assert [a["name"] for a in api.get("/attributes").json()["items"]] == ["born", "loyaltyPoints"]

    patched = api.patch("/attributes/loyaltyPoints", json={"description": "Points"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "Points"
    assert patched.json()["type"] == "integer"
    assert api.delete("/attributes/loyaltyPoints").status_code == 204
    assert api.get("/attributes/loyaltyPoints").status_code == 404
    assert api.delete("/attributes/loyaltyPoints").status_code == 404
    assert api.patch("/attributes/loyaltyPoints", json={"description": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("kind", "good", "stored", "bad"),
    [
        ("text", "gold", "gold", 5),
        ("decimal", "12.5", 12.5, "lots"),
        ("integer", 7.0, 7, 7.5),
        ("boolean", True, True, "yes"),
        ("date", "2026-01-31", "2026-01-31", "31.01.2026"),
        ("datetime", "2026-01-31T10:00:00+01:00", "2026-01-31T09:00:00Z", "2026-01-31T10:00"),
        ("list", ["a", 1], ["a", 1], "a"),
    ],
)
def test_people_values_are_checked_against_the_type(
    api: Api, kind: str, good: Any, stored: Any, bad: Any
) -> None:
    api.post("/attributes", json={"name": "x", "type": kind})
    ok = api.post("/people", json={"externalId": "p1", "attributes": {"x": good}})
    assert ok.status_code == 201, ok.text
    assert ok.json()["attributes"] == {"x": stored}
    refused = api.post("/people", json={"externalId": "p1", "attributes": {"x": bad}})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "attributes.x"


def test_deleting_an_attribute_removes_its_values_from_everyone(api: Api) -> None:
    api.post("/attributes", json={"name": "points", "type": "integer"})
    api.post("/attributes", json={"name": "plan", "type": "text"})
    api.post("/people", json={"externalId": "p1", "attributes": {"points": 3, "plan": "gold"}})
    api.post("/people", json={"externalId": "p2", "attributes": {"plan": "free"}})
    api.delete("/attributes/points")
    people = api.get("/people").json()["items"]
    assert [p["attributes"] for p in people] == [{"plan": "gold"}, {"plan": "free"}]
    refused = api.post("/people", json={"externalId": "p1", "attributes": {"points": 1}})
    assert refused.status_code == 422
    # Declared again, even with another type, it starts clean.
    api.post("/attributes", json={"name": "points", "type": "text"})
    again = api.post("/people", json={"externalId": "p2", "attributes": {"points": "many"}})
    assert again.json()["attributes"] == {"plan": "free", "points": "many"}


def test_names_are_unique_and_types_never_change(api: Api) -> None:
    assert api.post("/attributes", json={"name": "plan", "type": "text"}).status_code == 201
    assert api.post("/attributes", json={"name": "plan", "type": "integer"}).status_code == 409
    retype = api.patch("/attributes/plan", json={"type": "integer"})
    assert retype.status_code == 422
    assert retype.json()["error"]["details"][0]["field"] == "type"
    assert api.get("/attributes/plan").json()["type"] == "text"


def test_paging(api: Api) -> None:
    for name in ["c", "a", "b"]:
        api.post("/attributes", json={"name": name, "type": "text"})
    page = api.get("/attributes", params={"limit": 2}).json()
    assert [a["name"] for a in page["items"]] == ["a", "b"]
    assert page["hasMore"] is True
    rest = api.get("/attributes", params={"limit": 2, "offset": 2}).json()
    assert [a["name"] for a in rest["items"]] == ["c"]
    assert rest["hasMore"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "text"}, "name"),
        ({"name": "has space", "type": "text"}, "name"),
        ({"name": "9lives", "type": "text"}, "name"),
        ({"name": "firstName", "type": "text"}, "name"),
        ({"name": "x" * 65, "type": "text"}, "name"),
        ({"name": "plan"}, "type"),
        ({"name": "plan", "type": "money"}, "type"),
        ({"name": "plan", "type": "text", "description": 5}, "description"),
        ({"name": "plan", "type": "text", "description": "a\u0000"}, "description"),
        ({"name": "plan", "type": "text", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.post("/attributes", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert api.get("/attributes").json()["items"] == []


def test_names_that_cannot_exist_are_not_found(api: Api) -> None:
    assert api.get("/attributes/no%20such").status_code == 404
    assert api.get("/attributes/a%00b").status_code == 404
    assert api.delete("/attributes/a%00b").status_code == 404
    assert api.patch("/attributes/a%00b", json={"description": "x"}).status_code == 404


def test_other_account_sees_nothing(api: Api, other_api: Api) -> None:
    api.post("/attributes", json={"name": "plan", "type": "text"})
    api.post("/people", json={"externalId": "p1", "attributes": {"plan": "gold"}})
    assert other_api.get("/attributes/plan").status_code == 404
    assert other_api.patch("/attributes/plan", json={"description": "x"}).status_code == 404
    assert other_api.delete("/attributes/plan").status_code == 404
    assert other_api.get("/attributes").json()["items"] == []
    refused = other_api.post("/people", json={"externalId": "p1", "attributes": {"plan": "x"}})
    assert refused.status_code == 422
    # Their own declaration and deletion leave this account's values alone.
    other_api.post("/attributes", json={"name": "plan", "type": "integer"})
    other_api.delete("/attributes/plan")
    mine = api.get("/people").json()["items"][0]
    assert mine["attributes"] == {"plan": "gold"}
