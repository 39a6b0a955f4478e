"""POST /events and GET /people/{id}/events, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.store.person_refs import find_people


@pytest.fixture
def cart(api: Api) -> Api:
    answer = api.post(
        "/event-definitions",
        json={"name": "CartAbandoned", "properties": {"cartValue": "decimal", "items": "list"}},
    )
    assert answer.status_code == 201
    return api


def person_id(system: Tidings, api: Api, external_id: str) -> int:
    with system.db.read() as conn:
        return find_people(conn, api.account_id, [external_id])[external_id]


def event(external_id: str = "p1", **extra: Any) -> dict[str, Any]:
    return {"person": {"externalId": external_id}, "name": "CartAbandoned", **extra}


def test_one_event_is_stored_and_creates_the_unknown_person(system: Tidings, cart: Api) -> None:
    answer = cart.post("/events", json=event(properties={"cartValue": 80}))
    assert answer.status_code == 202
    assert answer.json() == {"items": [{"status": "accepted"}]}
    pid = person_id(system, cart, "p1")
    history = cart.get(f"/people/{pid}/events").json()["items"]
    assert [(e["name"], e["properties"]) for e in history] == [("CartAbandoned", {"cartValue": 80})]


def test_a_batch_answers_per_item_and_keeps_the_good_ones(system: Tidings, cart: Api) -> None:
    items = [
        event("a", properties={"cartValue": 10}),
        event("b", properties={"cartValue": "lots"}),
        event("c", properties={"colour": "red"}),
        {"person": {"externalId": "d"}, "name": "NeverDefined"},
        {"name": "CartAbandoned"},
        event("e", time="yesterday"),
        event("f", properties={"cartValue": "12.5"}),
    ]
    answer = cart.post("/events", json=items)
    assert answer.status_code == 202
    statuses = [i["status"] for i in answer.json()["items"]]
    assert statuses == [
        "accepted",
        "refused",
        "refused",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]
    fields = [
        [d["field"] for d in i["error"]["details"]]
        for i in answer.json()["items"]
        if i["status"] == "refused"
    ]
    assert fields == [
        ["properties.cartValue"],
        ["properties.colour"],
        ["name"],
        ["person"],
        ["time"],
    ]
    with system.db.read() as conn:
        known = find_people(conn, cart.account_id, ["a", "b", "c", "d", "e", "f"])
    assert sorted(known) == ["a", "f"]  # refused items create nobody
    stored = cart.get(f"/people/{known['f']}/events").json()["items"]
    assert stored[0]["properties"] == {"cartValue": 12.5}


@pytest.mark.parametrize("value", [1e300, 2**70, "1e300"])
def test_numbers_beyond_64_bits_are_refused(system: Tidings, cart: Api, value: object) -> None:
    answer = cart.post("/events", json=event(properties={"cartValue": value}))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "properties.cartValue"


def test_list_properties_hold_only_storable_json(cart: Api) -> None:
    bad = cart.post("/events", json=event(properties={"items": ["ok", "nul\x00"]}))
    assert bad.status_code == 422
    good = cart.post("/events", json=event(properties={"items": [{"sku": "A1", "qty": 2}]}))
    assert good.status_code == 202


def test_a_refused_single_event_is_a_422_naming_the_field(cart: Api) -> None:
    answer = cart.post("/events", json=event(properties={"cartValue": True}))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "properties.cartValue"


def test_person_by_server_id(system: Tidings, cart: Api, other_api: Api) -> None:
    cart.post("/events", json=event("p1"))
    pid = person_id(system, cart, "p1")
    ok = cart.post("/events", json={"person": {"id": pid}, "name": "CartAbandoned"})
    assert ok.status_code == 202
    # The same id from another account is not that account's person.
    other_api.post("/event-definitions", json={"name": "CartAbandoned"})
    refused = other_api.post("/events", json={"person": {"id": pid}, "name": "CartAbandoned"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "person.id"
    assert other_api.get(f"/people/{pid}/events").status_code == 404


def test_history_is_newest_first_paged_and_filtered(system: Tidings, cart: Api) -> None:
    cart.post("/event-definitions", json={"name": "Visit"})
    cart.post(
        "/events",
        json=[
            event(time="2026-01-01T10:00:00Z", properties={"cartValue": 1}),
            event(time="2026-01-03T10:00:00+02:00", properties={"cartValue": 3}),
            {"person": {"externalId": "p1"}, "name": "Visit", "time": "2026-01-02T00:00:00Z"},
        ],
    )
    pid = person_id(system, cart, "p1")
    page = cart.get(f"/people/{pid}/events", params={"limit": 2}).json()
    assert [e["time"] for e in page["items"]] == ["2026-01-03T08:00:00Z", "2026-01-02T00:00:00Z"]
    assert page["hasMore"] is True
    rest = cart.get(f"/people/{pid}/events", params={"limit": 2, "offset": 2}).json()
    assert [e["properties"] for e in rest["items"]] == [{"cartValue": 1}]
    only = cart.get(f"/people/{pid}/events", params={"name": "Visit"}).json()["items"]
    assert [e["name"] for e in only] == ["Visit"]


def test_idempotency_key_replays_the_first_answer(system: Tidings, cart: Api) -> None:
    headers = {"Idempotency-Key": "batch-42"}
    first = cart.post(
        "/events", json=[event(), event(properties={"cartValue": "x"})], headers=headers
    )
    again = cart.post("/events", json=[event(), event()], headers=headers)
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    pid = person_id(system, cart, "p1")
    assert len(cart.get(f"/people/{pid}/events").json()["items"]) == 1
    # Keys are per account: the same key elsewhere is a new request.
    fresh = cart.post("/events", json=event(), headers={"Idempotency-Key": "batch-43"})
    assert fresh.status_code == 202
    assert len(cart.get(f"/people/{pid}/events").json()["items"]) == 2


def test_idempotency_key_expires_after_24_hours(system: Tidings, cart: Api) -> None:
    from datetime import timedelta

    from tidings.clock import VirtualClock

    headers = {"Idempotency-Key": "daily"}
    cart.post("/events", json=event(), headers=headers)
    assert isinstance(system.clock, VirtualClock)
    system.clock.advance_by(timedelta(hours=25))
    cart.post("/events", json=event(), headers=headers)
    pid = person_id(system, cart, "p1")
    assert len(cart.get(f"/people/{pid}/events").json()["items"]) == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"[]", 422, "invalid_input"),
        (b'"CartAbandoned"', 422, "invalid_input"),
        (b"42", 422, "invalid_input"),
    ],
)
def test_bodies_that_are_not_requests_are_refused_whole(
    cart: Api, body: bytes, status: int, code: str
) -> None:
    answer = cart.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_over_1000_items_or_1_mb_is_refused_whole(system: Tidings, cart: Api) -> None:
    too_many = cart.post("/events", json=[event(f"x{i}") for i in range(1001)])
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "body"
    big = cart.post("/events", json=event(properties={"cartValue": 1, "pad": "x" * 1_100_000}))
    assert big.status_code == 413
    with system.db.read() as conn:
        assert find_people(conn, cart.account_id, ["x0", "p1"]) == {}


def test_long_idempotency_key_is_refused(cart: Api) -> None:
    answer = cart.post("/events", json=event(), headers={"Idempotency-Key": "k" * 300})
    assert answer.status_code == 422
