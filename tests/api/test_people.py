"""/people: upsert by externalId, list with filters, read, change and delete by id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tidings.bootstrap import Tidings

ANA = {
    "externalId": "p1",
    "firstName": "Ana",
    "country": "hr",
    "timezone": "Europe/Zagreb",
    "phones": ["+385 91 123 4567"],
    "emails": ["ana@Example.COM"],
    "tags": ["vip"],
    "attributes": {"loyaltyPoints": 120},
}


@pytest.fixture
def shop(api: Api) -> Api:
    """An account with the custom attributes and the company the tests use."""
    for name, kind in [("loyaltyPoints", "integer"), ("plan", "text"), ("vipSince", "date")]:
        assert api.post("/attributes", json={"name": name, "type": kind}).status_code == 201
    assert api.post("/companies", json={"name": "Acme"}).status_code == 201
    return api


def everyone(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/people", params={"limit": 1000}).json()["items"]
    return items


def test_create_answers_the_stored_profile(shop: Api) -> None:
    answer = shop.post("/people", json=ANA)
    assert answer.status_code == 201, answer.text
    person = answer.json()
    assert isinstance(person["id"], int)
    assert person["createdAt"] == person["updatedAt"]
    assert person["createdAt"].endswith("Z")
    del person["id"], person["createdAt"], person["updatedAt"]
    assert person == {
        "externalId": "p1",
        "firstName": "Ana",
        "lastName": None,
        "gender": None,
        "birthDate": None,
        "city": None,
        "country": "HR",
        "timezone": "Europe/Zagreb",
        "preferredLanguage": None,
        "phones": ["+385911234567"],
        "emails": ["ana@example.com"],
        "tags": ["vip"],
        "companies": [],
        "unsubscribed": [],
        "attributes": {"loyaltyPoints": 120},
    }


def test_posting_the_same_externalid_updates_that_person(shop: Api) -> None:
    first = shop.post("/people", json={**ANA, "attributes": {"loyaltyPoints": 1, "plan": "gold"}})
    again = shop.post(
        "/people",
        json={
            "externalId": "p1",
            "lastName": "Horvat",
            "firstName": None,
            "phones": ["+385981234567", "+385911234567"],
            "tags": ["buyer"],
            "companies": ["Acme"],
            "attributes": {"loyaltyPoints": 200, "plan": None, "vipSince": "2025-12-01"},
        },
    )
    assert again.status_code == 200, again.text
    person = again.json()
    assert person["id"] == first.json()["id"]
    assert person["firstName"] is None  # given as null: cleared
    assert person["lastName"] == "Horvat"
    assert person["country"] == "HR"  # not given: kept
    assert person["phones"] == ["+385981234567", "+385911234567"]  # replaced, in order
    assert person["emails"] == ["ana@example.com"]
    assert person["tags"] == ["buyer"]
    assert person["companies"] == ["Acme"]
    assert person["attributes"] == {"loyaltyPoints": 200, "vipSince": "2025-12-01"}
    assert len(everyone(shop)) == 1
    assert shop.get(f"/people/{person['id']}").json() == person


def test_without_externalid_every_post_creates(shop: Api) -> None:
    one = shop.post("/people", json={"firstName": "Ana"})
    two = shop.post("/people", json={"firstName": "Ana"})
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]
    assert one.json()["externalId"] is None


def test_lists_can_be_cleared_with_an_empty_list_or_null(shop: Api) -> None:
    shop.post("/people", json=ANA)
    person = shop.post("/people", json={"externalId": "p1", "phones": [], "tags": None}).json()
    assert person["phones"] == []
    assert person["tags"] == []
    assert person["emails"] == ["ana@example.com"]


def test_unknown_tags_are_created_and_companies_must_exist(shop: Api) -> None:
    answer = shop.post("/people", json={**ANA, "tags": ["vip", "new"], "companies": ["Nope"]})
    assert answer.status_code == 422
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["companies.0"]
    assert everyone(shop) == []
    assert shop.get("/tags").json()["items"] == []  # a refused person creates no tag
    ok = shop.post("/people", json={**ANA, "tags": ["vip", "new"], "companies": ["Acme"]})
    assert ok.status_code == 201
    assert sorted(t["name"] for t in shop.get("/tags").json()["items"]) == ["new", "vip"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phones": ["0911234567"]}, "phones.0"),
        ({"phones": ["+385911234567", "+1 555"]}, "phones.1"),
        ({"phones": [f"+38591123{i:04d}" for i in range(21)]}, "phones"),
        ({"emails": ["not an email"]}, "emails.0"),
        ({"emails": [7]}, "emails.0"),
        ({"birthDate": "30.04.1990"}, "birthDate"),
        ({"country": "Croatia"}, "country"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"gender": "robot"}, "gender"),
        ({"preferredLanguage": "english please"}, "preferredLanguage"),
        ({"preferredLanguage": "en" + "-abcdefgh" * 5}, "preferredLanguage"),
        ({"firstName": 5}, "firstName"),
        ({"firstName": "x" * 256}, "firstName"),
        ({"firstName": "A\u0000na"}, "firstName"),
        ({"externalId": ""}, "externalId"),
        ({"externalId": "x" * 256}, "externalId"),
        ({"externalId": "a\u0000b"}, "externalId"),
        ({"tags": ["  "]}, "tags.0"),
        ({"tags": "vip"}, "tags"),
        ({"attributes": {"loyaltyPoints": "many"}}, "attributes.loyaltyPoints"),
        ({"attributes": {"loyaltyPoints": 2**70}}, "attributes.loyaltyPoints"),
        ({"attributes": {"vipSince": "yesterday"}}, "attributes.vipSince"),
        ({"attributes": {"plan": "a\u0000"}}, "attributes.plan"),
        ({"attributes": {"shoeSize": 42}}, "attributes.shoeSize"),
        ({"attributes": ["loyaltyPoints"]}, "attributes"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    shop: Api, change: dict[str, Any], field: str
) -> None:
    answer = shop.post("/people", json={**ANA, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert everyone(shop) == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"firstName": "\\ud800"}', "firstName"),
        (b'{"externalId": "\\ud800"}', "externalId"),
        (b'{"tags": ["\\ud800"]}', "tags.0"),
        (b'{"attributes": {"loyaltyPoints": NaN}}', "attributes.loyaltyPoints"),
        (b'{"attributes": {"history": [1, Infinity]}}', "attributes.history"),
        (b'{"attributes": {"history": [{"k": "\\u0000"}]}}', "attributes.history"),
        (b'{"attributes": {"balance": 1e300}}', "attributes.balance"),
    ],
)
def test_values_no_database_could_hold_are_refused(shop: Api, raw: bytes, field: str) -> None:
    shop.post("/attributes", json={"name": "history", "type": "list"})
    shop.post("/attributes", json={"name": "balance", "type": "decimal"})
    headers = {"Content-Type": "application/json"}
    answer = shop.post("/people", content=raw, headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]
    batch = shop.post("/people/batch", content=b"[" + raw + b"]", headers=headers)
    assert batch.status_code in (200, 400), batch.text  # orjson refuses lone surrogates whole
    assert everyone(shop) == []


def test_a_body_that_is_not_a_person_is_refused(shop: Api) -> None:
    assert shop.post("/people", json=[ANA]).status_code == 422
    malformed = shop.post("/people", content=b"{nope", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert everyone(shop) == []


def test_list_filters_and_paging(shop: Api) -> None:
    shop.post("/people", json=ANA)
    shop.post(
        "/people",
        json={
            "externalId": "p2",
            "phones": ["+14155550100"],
            "emails": ["bob@example.com"],
            "tags": ["vip", "buyer"],
            "companies": ["Acme"],
        },
    )
    shop.post("/people", json={"externalId": "p3", "tags": ["buyer"]})

    def ids(**params: str) -> list[str]:
        answer = shop.get("/people", params=params)
        assert answer.status_code == 200, answer.text
        return [p["externalId"] for p in answer.json()["items"]]

    assert ids() == ["p1", "p2", "p3"]  # by id: the order they were created
    assert ids(externalId="p2") == ["p2"]
    assert ids(tag="vip") == ["p1", "p2"]
    assert ids(tag="vip", company="Acme") == ["p2"]
    assert ids(email="ANA@example.com") == []  # the local part keeps its case
    assert ids(email="ana@EXAMPLE.com") == ["p1"]
    assert ids(phone="+385 91 123 4567") == ["p1"]
    assert ids(phone=" 14155550100") == ["p2"]  # an unencoded "+" arrives as a space
    assert ids(tag="nobody") == []
    page = shop.get("/people", params={"limit": 2}).json()
    assert [p["externalId"] for p in page["items"]] == ["p1", "p2"]
    assert page["hasMore"] is True
    rest = shop.get("/people", params={"limit": 2, "offset": 2}).json()
    assert [p["externalId"] for p in rest["items"]] == ["p3"]
    assert rest["hasMore"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"tag": "a\u0000"}, "tag"),
        ({"externalId": "x" * 256}, "externalId"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_filters_name_the_parameter(shop: Api, params: dict[str, Any], field: str) -> None:
    answer = shop.get("/people", params=params)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]


def test_patch_changes_that_person_only(shop: Api) -> None:
    pid = shop.post("/people", json=ANA).json()["id"]
    other = shop.post("/people", json={"externalId": "p2"}).json()["id"]
    patched = shop.patch(
        f"/people/{pid}",
        json={"city": "Split", "attributes": {"plan": "gold"}, "emails": ["ana@new.example"]},
    )
    assert patched.status_code == 200, patched.text
    person = patched.json()
    assert person["city"] == "Split"
    assert person["firstName"] == "Ana"
    assert person["attributes"] == {"loyaltyPoints": 120, "plan": "gold"}
    assert person["emails"] == ["ana@new.example"]
    assert shop.get(f"/people/{other}").json()["city"] is None

    renamed = shop.patch(f"/people/{pid}", json={"externalId": "ana"})
    assert renamed.json()["externalId"] == "ana"
    assert shop.post("/people", json={"externalId": "ana"}).status_code == 200
    taken = shop.patch(f"/people/{pid}", json={"externalId": "p2"})
    assert taken.status_code == 409
    anonymous = shop.patch(f"/people/{pid}", json={"externalId": None})
    assert anonymous.json()["externalId"] is None
    assert shop.get("/people", params={"externalId": "ana"}).json()["items"] == []
    bad = shop.patch(f"/people/{pid}", json={"country": "XX", "city": "Zadar"})
    assert bad.status_code == 422
    assert shop.get(f"/people/{pid}").json()["city"] == "Split"
    unknown = shop.patch(f"/people/{pid}", json={"companies": ["Nope"]})
    assert unknown.json()["error"]["details"][0]["field"] == "companies.0"


def test_delete_removes_the_person_and_everything_of_theirs(shop: Api) -> None:
    shop.post("/event-definitions", json={"name": "Visit"})
    pid = shop.post("/people", json={**ANA, "companies": ["Acme"]}).json()["id"]
    shop.post("/events", json={"person": {"externalId": "p1"}, "name": "Visit"})
    assert len(shop.get(f"/people/{pid}/events").json()["items"]) == 1
    assert shop.delete(f"/people/{pid}").status_code == 204
    assert shop.get(f"/people/{pid}").status_code == 404
    assert shop.get(f"/people/{pid}/events").status_code == 404
    assert shop.delete(f"/people/{pid}").status_code == 404
    assert shop.get("/tags").json()["items"][0]["peopleCount"] == 0
    assert shop.get("/people", params={"phone": "+385911234567"}).json()["items"] == []
    again = shop.post("/people", json=ANA)
    assert again.status_code == 201  # the externalId is free again
    assert again.json()["tags"] == ["vip"]


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", str(2**64)])
def test_bad_ids_are_refused(shop: Api, bad_id: str) -> None:
    assert shop.get(f"/people/{bad_id}").status_code == 422
    assert shop.delete(f"/people/{bad_id}").status_code == 422


def test_unknown_id_is_404(shop: Api) -> None:
    assert shop.get("/people/999999999").status_code == 404
    assert shop.patch("/people/999999999", json={"city": "Split"}).status_code == 404
    assert shop.patch("/people/999999999", json={"externalId": "x"}).status_code == 404


def test_other_account_sees_nothing(shop: Api, other_api: Api) -> None:
    pid = shop.post("/people", json=ANA).json()["id"]
    assert other_api.get(f"/people/{pid}").status_code == 404
    assert other_api.patch(f"/people/{pid}", json={"city": "Split"}).status_code == 404
    assert other_api.delete(f"/people/{pid}").status_code == 404
    assert other_api.get("/people").json()["items"] == []
    assert other_api.get("/people", params={"externalId": "p1"}).json()["items"] == []
    assert other_api.get("/people", params={"tag": "vip"}).json()["items"] == []
    # The same externalId in another account is another person.
    theirs = other_api.post("/people", json={"externalId": "p1", "city": "Pula"})
    assert theirs.status_code == 201
    assert theirs.json()["id"] != pid
    mine = shop.get(f"/people/{pid}").json()
    assert mine["city"] is None
    assert mine["tags"] == ["vip"]
    # Their companies are not names this account can use.
    refused = other_api.post("/people", json={"externalId": "p1", "companies": ["Acme"]})
    assert refused.status_code == 422


def _stored_attributes(system: Tidings, pid: int) -> Any:
    """The row's `attributes` as the database holds it (NULL: None)."""
    with system.db.read() as conn:
        sql = f"SELECT attributes FROM people WHERE id = {int(pid)}"
        return conn.exec_driver_sql(sql).scalar_one()


def test_no_custom_attributes_are_stored_as_null_and_answered_as_an_empty_object(
    system: Tidings, shop: Api
) -> None:
    created = shop.post("/people", json={"externalId": "p1", "firstName": "Ana"})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["attributes"] == {}
    assert _stored_attributes(system, pid) is None
    assert shop.get(f"/people/{pid}").json()["attributes"] == {}
    given = shop.patch(f"/people/{pid}", json={"attributes": {"plan": "gold"}})
    assert given.json()["attributes"] == {"plan": "gold"}
    assert _stored_attributes(system, pid) is not None
    merged = shop.post("/people", json={"externalId": "p1", "attributes": {"loyaltyPoints": 3}})
    assert merged.json()["attributes"] == {"plan": "gold", "loyaltyPoints": 3}
    removed = shop.patch(
        f"/people/{pid}", json={"attributes": {"plan": None, "loyaltyPoints": None}}
    )
    assert removed.json()["attributes"] == {}
    assert _stored_attributes(system, pid) is None
    # a batch, an explicit empty object, an event for an unknown externalId, and a
    # person whose only attribute's definition is deleted: NULL each, {} to read
    batch = shop.post(
        "/people/batch", json=[{"externalId": "p2"}, {"externalId": "p3", "attributes": {}}]
    )
    assert batch.status_code == 200, batch.text
    assert shop.post("/event-definitions", json={"name": "Visit"}).status_code == 201
    visit = {"person": {"externalId": "p4"}, "name": "Visit"}
    assert shop.post("/events", json=visit).status_code == 202
    vip = shop.post("/people", json={"externalId": "p5", "attributes": {"vipSince": "2025-12-01"}})
    assert shop.delete("/attributes/vipSince").status_code == 204
    people = {p["externalId"]: p for p in everyone(shop)}
    assert set(people) == {"p1", "p2", "p3", "p4", "p5"}
    for person in people.values():
        assert person["attributes"] == {}
        assert _stored_attributes(system, person["id"]) is None
    assert people["p5"]["id"] == vip.json()["id"]
    # a row written before (an empty object stored) reads the same, and merges
    empty = "'{}'::jsonb" if system.db.dialect == "postgresql" else "'{}'"
    sql = f"UPDATE people SET attributes = {empty} WHERE id = {int(pid)}"
    system.db.write(lambda conn: conn.exec_driver_sql(sql))
    assert _stored_attributes(system, pid) is not None
    assert shop.get(f"/people/{pid}").json()["attributes"] == {}
    again = shop.patch(f"/people/{pid}", json={"attributes": {"plan": "silver"}})
    assert again.json()["attributes"] == {"plan": "silver"}
