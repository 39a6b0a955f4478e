"""/tags: create, list with counts, rename, delete; people carry them by name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def test_create_read_list_rename_delete(api: Api) -> None:
    created = api.post("/tags", json={"name": " vip "})
    assert created.status_code == 201, created.text
    tag = created.json()
    assert tag["name"] == "vip"  # trimmed
    assert tag["peopleCount"] == 0
    assert api.get(f"/tags/{tag['id']}").json() == tag
    api.post("/tags", json={"name": "buyer"})
    page = api.get("/tags").json()
    assert [t["name"] for t in page["items"]] == ["buyer", "vip"]
    assert page["hasMore"] is False

    renamed = api.patch(f"/tags/{tag['id']}", json={"name": "gold"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "gold"
    assert api.delete(f"/tags/{tag['id']}").status_code == 204
    assert api.get(f"/tags/{tag['id']}").status_code == 404
    assert api.delete(f"/tags/{tag['id']}").status_code == 404
    assert api.patch(f"/tags/{tag['id']}", json={"name": "x"}).status_code == 404


def test_counts_renames_and_deletes_follow_the_people(api: Api) -> None:
    api.post("/people", json={"externalId": "p1", "tags": ["vip", "buyer"]})
    api.post("/people", json={"externalId": "p2", "tags": ["vip"]})
    counts = {t["name"]: t["peopleCount"] for t in api.get("/tags").json()["items"]}
    assert counts == {"buyer": 1, "vip": 2}
    vip = next(t for t in api.get("/tags").json()["items"] if t["name"] == "vip")

    api.patch(f"/tags/{vip['id']}", json={"name": "gold"})
    assert api.get("/people", params={"externalId": "p1"}).json()["items"][0]["tags"] == [
        "buyer",
        "gold",
    ]
    assert len(api.get("/people", params={"tag": "gold"}).json()["items"]) == 2
    # Naming the new name on a person reuses the tag.
    api.post("/people", json={"externalId": "p3", "tags": ["gold"]})
    assert api.get(f"/tags/{vip['id']}").json()["peopleCount"] == 3

    api.delete(f"/tags/{vip['id']}")
    people = api.get("/people").json()["items"]
    assert [p["tags"] for p in people] == [["buyer"], [], []]


def test_names_are_unique(api: Api) -> None:
    first = api.post("/tags", json={"name": "vip"}).json()
    assert api.post("/tags", json={"name": "vip"}).status_code == 409
    other = api.post("/tags", json={"name": "buyer"}).json()
    assert api.patch(f"/tags/{other['id']}", json={"name": "vip"}).status_code == 409
    assert api.patch(f"/tags/{first['id']}", json={"name": "vip"}).status_code == 200
    assert api.post("/tags", json={"name": "VIP"}).status_code == 201  # names are exact


def test_paging(api: Api) -> None:
    for name in ["c", "a", "b"]:
        api.post("/tags", json={"name": name})
    page = api.get("/tags", params={"limit": 2}).json()
    assert [t["name"] for t in page["items"]] == ["a", "b"]
    assert page["hasMore"] is True
    rest = api.get("/tags", params={"limit": 2, "offset": 2}).json()
    assert [t["name"] for t in rest["items"]] == ["c"]
    assert rest["hasMore"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 5}, "name"),
        ({"name": "a\u0000b"}, "name"),
        ({"name": "vip", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.post("/tags", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    tag = api.post("/tags", json={"name": "keep"}).json()
    renamed = api.patch(f"/tags/{tag['id']}", json=body)
    assert renamed.status_code == 422
    assert field in [d["field"] for d in renamed.json()["error"]["details"]]
    assert [t["name"] for t in api.get("/tags").json()["items"]] == ["keep"]


@pytest.mark.parametrize("bad_id", ["0", "x", str(2**63)])
def test_bad_ids_are_refused(api: Api, bad_id: str) -> None:
    assert api.get(f"/tags/{bad_id}").status_code == 422


def test_other_account_sees_nothing(api: Api, other_api: Api) -> None:
    tag = api.post("/tags", json={"name": "vip"}).json()
    assert other_api.get(f"/tags/{tag['id']}").status_code == 404
    assert other_api.patch(f"/tags/{tag['id']}", json={"name": "x"}).status_code == 404
    assert other_api.delete(f"/tags/{tag['id']}").status_code == 404
    assert other_api.get("/tags").json()["items"] == []
    # Their "vip" is their own tag, and it counts only their people.
    other_api.post("/people", json={"externalId": "p1", "tags": ["vip"]})
    theirs = other_api.get("/tags").json()["items"][0]
    assert theirs["id"] != tag["id"]
    assert api.get(f"/tags/{tag['id']}").json()["peopleCount"] == 0
