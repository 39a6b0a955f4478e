"""POST /people/batch: up to 1,000 people, answered per item, written in one commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.clock import VirtualClock


@pytest.fixture
def shop(api: Api) -> Api:
    assert api.post("/attributes", json={"name": "points", "type": "integer"}).status_code == 201
    assert api.post("/companies", json={"name": "Acme"}).status_code == 201
    return api


def by_external_id(api: Api) -> dict[str, dict[str, Any]]:
    items = api.get("/people", params={"limit": 1000}).json()["items"]
    return {p["externalId"]: p for p in items}


def statuses(answer: Any) -> list[str]:
    return [item["status"] for item in answer.json()["items"]]


def test_each_item_is_answered_in_order_and_bad_ones_never_drop_good_ones(shop: Api) -> None:
    shop.post("/people", json={"externalId": "old", "city": "Split"})
    answer = shop.post(
        "/people/batch",
        json=[
            {"externalId": "a", "tags": ["vip"], "attributes": {"points": 5}},
            {"externalId": "b", "phones": ["12345"], "tags": ["ghost"]},
            {"externalId": "c", "companies": ["Nope"], "tags": ["ghost"]},
            {"externalId": "old", "firstName": "Olga"},
            {"firstName": "Anonymous"},
            {"externalId": "d", "attributes": {"points": "lots"}},
            {"externalId": "e", "colour": "red"},
            "not a person",
            {"externalId": "f", "companies": ["Acme"], "emails": ["f@example.com"]},
        ],
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert statuses(answer) == [
        "accepted",
        "refused",
        "refused",
        "accepted",
        "accepted",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]
    assert [i["created"] for i in items if i["status"] == "accepted"] == [True, False, True, True]
    fields = [[d["field"] for d in i["error"]["details"]] for i in items if "error" in i]
    assert fields == [["phones.0"], ["companies.0"], ["attributes.points"], ["colour"], ["body"]]
    assert all(i["error"]["code"] == "invalid_input" for i in items if "error" in i)

    people = by_external_id(shop)
    assert sorted(people, key=str) == sorted(["a", "old", "f", None], key=str)
    assert people["a"]["id"] == items[0]["id"]
    assert people["a"]["tags"] == ["vip"]
    assert people["old"] == {**people["old"], "firstName": "Olga", "city": "Split"}
    assert people["f"]["companies"] == ["Acme"]
    assert people[None]["id"] == items[4]["id"]
    # Refused items wrote nothing, not even the tags they named.
    assert [t["name"] for t in shop.get("/tags").json()["items"]] == ["vip"]


def test_the_same_externalid_twice_applies_both_in_order(shop: Api) -> None:
    answer = shop.post(
        "/people/batch",
        json=[
            {"externalId": "p1", "firstName": "Ana", "city": "Split", "tags": ["a"]},
            {"externalId": "p2"},
            {"externalId": "p1", "firstName": "Anna", "attributes": {"points": 3}},
            {"externalId": "p1", "tags": ["b"], "phones": ["+385911234567"]},
        ],
    )
    items = answer.json()["items"]
    assert statuses(answer) == ["accepted"] * 4
    assert items[0]["id"] == items[2]["id"] == items[3]["id"] != items[1]["id"]
    assert [i["created"] for i in items] == [True, True, False, False]
    person = by_external_id(shop)["p1"]
    assert person["firstName"] == "Anna"
    assert person["city"] == "Split"
    assert person["tags"] == ["b"]
    assert person["phones"] == ["+385911234567"]
    assert person["attributes"] == {"points": 3}


def test_attributes_merge_and_null_removes_in_a_batch(shop: Api) -> None:
    shop.post("/attributes", json={"name": "plan", "type": "text"})
    shop.post("/people", json={"externalId": "p1", "attributes": {"points": 1, "plan": "gold"}})
    shop.post("/people/batch", json=[{"externalId": "p1", "attributes": {"plan": None}}])
    assert by_external_id(shop)["p1"]["attributes"] == {"points": 1}


def test_a_whole_batch_is_one_commit(system: Tidings, shop: Api) -> None:
    shop.post("/people", json={"externalId": "p0"})
    before = system.db.committer.commits
    people = [
        {
            "externalId": f"p{i}",
            "firstName": f"Person {i}",
            "phones": [f"+38591{i:07d}"],
            "tags": ["bulk", f"t{i % 3}"],
            "attributes": {"points": i},
        }
        for i in range(1000)
    ]
    answer = shop.post("/people/batch", json=people)
    assert answer.status_code == 200
    assert system.db.committer.commits - before == 1
    items = answer.json()["items"]
    assert [i["created"] for i in items] == [False] + [True] * 999
    stored = by_external_id(shop)
    assert len(stored) == 1000
    assert stored["p999"]["phones"] == ["+385910000999"]
    assert stored["p999"]["tags"] == ["bulk", "t0"]
    tags = {t["name"]: t["peopleCount"] for t in shop.get("/tags").json()["items"]}
    assert tags == {"bulk": 1000, "t0": 334, "t1": 333, "t2": 333}


def test_idempotency_key_replays_the_first_answer_and_changes_nothing(shop: Api) -> None:
    headers = {"Idempotency-Key": "import-7"}
    first = shop.post(
        "/people/batch", json=[{"externalId": "p1", "city": "Split"}, {}], headers=headers
    )
    again = shop.post(
        "/people/batch", json=[{"externalId": "p1", "city": "Zadar"}, {}], headers=headers
    )
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert first.json()["items"][0]["created"] is True
    people = shop.get("/people").json()["items"]
    assert len(people) == 2
    assert by_external_id(shop)["p1"]["city"] == "Split"
    fresh = shop.post(
        "/people/batch",
        json=[{"externalId": "p1", "city": "Pula"}],
        headers={"Idempotency-Key": "8"},
    )
    assert fresh.json()["items"][0]["created"] is False
    assert by_external_id(shop)["p1"]["city"] == "Pula"


def test_idempotency_key_expires_after_24_hours(system: Tidings, shop: Api) -> None:
    headers = {"Idempotency-Key": "daily"}
    shop.post("/people/batch", json=[{"city": "Split"}], headers=headers)
    assert isinstance(system.clock, VirtualClock)
    system.clock.advance_by(timedelta(hours=25))
    shop.post("/people/batch", json=[{"city": "Split"}], headers=headers)
    assert len(shop.get("/people").json()["items"]) == 2


def test_idempotency_keys_are_per_account(shop: Api, other_api: Api) -> None:
    headers = {"Idempotency-Key": "shared"}
    shop.post("/people/batch", json=[{"externalId": "p1"}], headers=headers)
    theirs = other_api.post("/people/batch", json=[{"externalId": "p1"}], headers=headers)
    assert theirs.json()["items"][0]["created"] is True
    assert len(other_api.get("/people").json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[{nope", 400, "malformed_json"),
        (b"[]", 422, "invalid_input"),
        (b'{"externalId": "p1"}', 422, "invalid_input"),
        (b'"p1"', 422, "invalid_input"),
        (b"null", 422, "invalid_input"),
    ],
)
def test_bodies_that_are_not_a_list_of_people_are_refused_whole(
    shop: Api, body: bytes, status: int, code: str
) -> None:
    answer = shop.post("/people/batch", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert shop.get("/people").json()["items"] == []


def test_over_1000_people_is_refused_whole(shop: Api) -> None:
    answer = shop.post("/people/batch", json=[{"externalId": f"p{i}"} for i in range(1001)])
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body"
    assert shop.get("/people").json()["items"] == []


def test_a_long_idempotency_key_is_refused(shop: Api) -> None:
    answer = shop.post("/people/batch", json=[{}], headers={"Idempotency-Key": "k" * 256})
    assert answer.status_code == 422
    assert shop.get("/people").json()["items"] == []


def test_a_batch_touches_only_its_own_account(shop: Api, other_api: Api) -> None:
    mine = shop.post("/people", json={"externalId": "p1", "city": "Split"}).json()
    theirs = other_api.post("/people/batch", json=[{"externalId": "p1", "city": "Pula"}])
    assert theirs.json()["items"][0]["created"] is True
    assert theirs.json()["items"][0]["id"] != mine["id"]
    assert shop.get(f"/people/{mine['id']}").json()["city"] == "Split"
    refused = other_api.post("/people/batch", json=[{"externalId": "p2", "companies": ["Acme"]}])
    assert statuses(refused) == ["refused"]
