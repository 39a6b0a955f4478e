"""/companies: CRUD, name search, their people; people name them by name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def test_create_read_list_update_delete(api: Api) -> None:
    created = api.post(
        "/companies",
        json={"name": "Acme", "domain": "Acme.example.COM", "attributes": {"plan": "gold"}},
    )
    assert created.status_code == 201, created.text
    company = created.json()
    assert company["domain"] == "acme.example.com"
    assert company["attributes"] == {"plan": "gold"}
    assert company["peopleCount"] == 0
    assert api.get(f"/companies/{company['id']}").json() == company

    patched = api.patch(
        f"/companies/{company['id']}",
        json={"attributes": {"seats": 40, "plan": None}, "domain": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["attributes"] == {"seats": 40}
    assert patched.json()["domain"] is None
    assert patched.json()["name"] == "Acme"
    renamed = api.patch(f"/companies/{company['id']}", json={"name": "Acme Ltd"}).json()
    assert renamed["name"] == "Acme Ltd"
    assert renamed["attributes"] == {"seats": 40}

    assert api.delete(f"/companies/{company['id']}").status_code == 204
    assert api.get(f"/companies/{company['id']}").status_code == 404
    assert api.delete(f"/companies/{company['id']}").status_code == 404


def test_search_by_part_of_the_name_and_paging(api: Api) -> None:
    for name in ["Acme", "Globex", "acme labs", "100% Fun"]:
        api.post("/companies", json={"name": name})

    def names(**params: Any) -> list[str]:
        return [c["name"] for c in api.get("/companies", params=params).json()["items"]]

    assert names() == ["100% Fun", "Acme", "Globex", "acme labs"]
    assert names(q="ACME") == ["Acme", "acme labs"]
    assert names(q="%") == ["100% Fun"]  # a wildcard character is just a character
    assert names(q="zzz") == []
    page = api.get("/companies", params={"limit": 3}).json()
    assert page["hasMore"] is True
    assert names(limit=3, offset=3) == ["acme labs"]


def test_people_of_a_company(api: Api) -> None:
    acme = api.post("/companies", json={"name": "Acme"}).json()
    api.post("/companies", json={"name": "Globex"})
    api.post("/people", json={"externalId": "p1", "companies": ["Acme", "Globex"]})
    api.post("/people", json={"externalId": "p2", "companies": ["Globex"]})
    api.post("/people", json={"externalId": "p3", "companies": ["Acme"]})
    members = api.get(f"/companies/{acme['id']}/people").json()
    assert [p["externalId"] for p in members["items"]] == ["p1", "p3"]
    assert api.get(f"/companies/{acme['id']}").json()["peopleCount"] == 2
    first = api.get(f"/companies/{acme['id']}/people", params={"limit": 1}).json()
    assert first["hasMore"] is True

    api.patch(f"/companies/{acme['id']}", json={"name": "Acme Ltd"})
    p1 = api.get("/people", params={"externalId": "p1"}).json()["items"][0]
    assert p1["companies"] == ["Acme Ltd", "Globex"]
    # Deleting a company keeps its people.
    api.delete(f"/companies/{acme['id']}")
    assert api.get(f"/people/{p1['id']}").json()["companies"] == ["Globex"]
    assert api.get(f"/companies/{acme['id']}/people").status_code == 404


def test_names_are_unique(api: Api) -> None:
    api.post("/companies", json={"name": "Acme"})
    assert api.post("/companies", json={"name": "Acme"}).status_code == 409
    globex = api.post("/companies", json={"name": "Globex"}).json()
    assert api.patch(f"/companies/{globex['id']}", json={"name": "Acme"}).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "A\u0000"}, "name"),
        ({"name": "Acme", "domain": "not a domain"}, "domain"),
        ({"name": "Acme", "domain": "https://acme.com/x"}, "domain"),
        ({"name": "Acme", "attributes": {"bad key": 1}}, "attributes.bad key"),
        ({"name": "Acme", "attributes": {"n": 2**64}}, "attributes.n"),
        ({"name": "Acme", "attributes": {"deep": [[[[[[[[[[1]]]]]]]]]]}}, "attributes.deep"),
        ({"name": "Acme", "attributes": "gold"}, "attributes"),
        ({"name": "Acme", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.post("/companies", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert api.get("/companies").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"domain": "x"}, "domain"),
        ({"attributes": {"a": "\u0000"}}, "attributes.a"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_changes_name_the_field_and_change_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    company = api.post("/companies", json={"name": "Acme", "domain": "acme.com"}).json()
    answer = api.patch(f"/companies/{company['id']}", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert api.get(f"/companies/{company['id']}").json() == company


@pytest.mark.parametrize("number", [b"Infinity", b"NaN", b"-Infinity"])
def test_numbers_json_cannot_hold_are_refused(api: Api, number: bytes) -> None:
    body = b'{"name": "Acme", "attributes": {"a": ' + number + b"}}"
    answer = api.post("/companies", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "attributes.a"


def test_bad_query_and_ids_are_refused(api: Api) -> None:
    assert api.get("/companies", params={"q": "a\u0000"}).status_code == 422
    assert api.get("/companies", params={"q": "x" * 256}).status_code == 422
    assert api.get("/companies/0").status_code == 422
    assert api.get(f"/companies/{2**63}/people").status_code == 422


def test_other_account_sees_nothing(api: Api, other_api: Api) -> None:
    acme = api.post("/companies", json={"name": "Acme"}).json()
    api.post("/people", json={"externalId": "p1", "companies": ["Acme"]})
    path = f"/companies/{acme['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.get(path + "/people").status_code == 404
    assert other_api.patch(path, json={"name": "Mine"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get("/companies").json()["items"] == []
    assert other_api.get("/companies", params={"q": "Acme"}).json()["items"] == []
    assert other_api.post("/companies", json={"name": "Acme"}).status_code == 201
    assert api.get(path).json()["peopleCount"] == 1
