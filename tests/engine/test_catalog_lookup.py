"""catalog_lookup end to end: an event brings a key, the engine finds the item in the
account's catalog, the SMS carries its columns; a key not in the catalog takes notFound."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person


def shop(api: Api) -> int:
    answer = api.post(
        "/event-definitions",
        json={"name": "ProductViewed", "properties": {"sku": "text", "store": "integer"}},
    )
    assert answer.status_code == 201, answer.text
    products = api.post(
        "/catalogs",
        json={
            "name": "products",
            "columns": [{"name": "title", "type": "text"}, {"name": "price", "type": "decimal"}],
        },
    )
    assert products.status_code == 201, products.text
    catalog_id = int(products.json()["id"])
    stored = api.post(
        f"/catalogs/{catalog_id}/items/csv",
        content=b"id,title,price\nA-1,Trail boots,80.5\nB-2,Wool hat,12\n",
        headers={"Content-Type": "text/csv"},
    )
    assert stored.json()["imported"] == 2, stored.text
    return catalog_id


def lookup_flow(key: str = "event.sku") -> dict[str, Any]:
    return {
        "name": "Viewed product",
        "entry": {"type": "event", "event": "ProductViewed"},
        "variables": [
            {"name": "title", "type": "text"},
            {"name": "price", "type": "decimal"},
            {"name": "sku", "type": "text"},
        ],
        "elements": [
            {
                "id": "find",
                "type": "catalog_lookup",
                "catalog": "products",
                "key": key,
                "assign": {"title": "item.title", "price": "item.price", "sku": "item.id"},
                "next": {"found": "offer", "notFound": "sorry"},
            },
            {
                "id": "offer",
                "type": "send_sms",
                "from": "Shop",
                "text": "Hi {{ person.firstName }}, {{ title }} ({{ sku }}) is {{ price }} EUR",
            },
            {"id": "sorry", "type": "send_sms", "from": "Shop", "text": "Sold out{{ title }}"},
        ],
    }


def viewed(api: Api, external_id: str, **properties: Any) -> None:
    answer = api.post(
        "/events",
        json={
            "person": {"externalId": external_id},
            "name": "ProductViewed",
            "properties": properties,
        },
    )
    assert answer.status_code == 202, answer.text


def test_the_looked_up_item_fills_the_message_and_a_missing_key_takes_not_found(
    api: Api,
) -> None:
    shop(api)
    flow = launched(api, lookup_flow())["id"]
    ana = person(api, "ana", firstName="Ana", phones=["+385911234567"])
    ivo = person(api, "ivo", firstName="Ivo", phones=["+385917654321"])
    viewed(api, "ana", sku="A-1")
    viewed(api, "ivo", sku="Z-9")
    drain(api)
    sent = {m["person"]: m for m in messages(api, flow)}
    assert sent[ana]["text"] == "Hi Ana, Trail boots (A-1) is 80.5 EUR"
    assert sent[ana]["element"] == "offer"
    assert sent[ivo]["text"] == "Sold out"
    assert sent[ivo]["element"] == "sorry"
    elements = perf(api, flow)["elements"]
    assert elements["find"]["totalEngagements"] == 2
    assert elements["offer"]["messagesSent"] == 1
    assert elements["sorry"]["messagesSent"] == 1


def test_a_lookup_reads_the_catalog_as_it_is_then(api: Api) -> None:
    catalog_id = shop(api)
    flow = launched(api, lookup_flow())["id"]
    person(api, "ana")
    api.put(f"/catalogs/{catalog_id}/items/A-1", json={"values": {"title": "Boots", "price": 70}})
    viewed(api, "ana", sku="A-1")
    drain(api, "PT1H")
    api.delete(f"/catalogs/{catalog_id}/items/A-1")
    viewed(api, "ana", sku="A-1")
    drain(api)
    texts = [m["text"] for m in messages(api, flow)]
    assert texts == ["Hi Ana, Boots (A-1) is 70 EUR", "Sold out"]


def test_a_number_key_and_many_people_in_one_batch(api: Api) -> None:
    catalog_id = shop(api)
    api.post(
        f"/catalogs/{catalog_id}/items",
        json=[{"id": str(n), "values": {"title": f"Store {n}"}} for n in range(1, 4)],
    )
    flow = launched(api, lookup_flow(key="event.store"))["id"]
    events = []
    for n in range(1, 41):
        person(api, f"p{n}", firstName=f"P{n}", phones=[f"+3859100000{n:02d}"])
        events.append(
            {"person": {"externalId": f"p{n}"}, "name": "ProductViewed", "properties": {"store": n}}
        )
    assert api.post("/events", json=events).status_code == 202
    drain(api)
    sent = messages(api, flow)
    assert len(sent) == 40
    offers = sorted(m["text"] for m in sent if m["element"] == "offer")
    assert offers == [f"Hi P{n}, Store {n} ({n}) is  EUR" for n in range(1, 4)]
    assert perf(api, flow)["elements"]["sorry"]["messagesSent"] == 37


def test_another_accounts_catalog_of_the_same_name_is_not_read(api: Api, other_api: Api) -> None:
    shop(other_api)  # the other account has products A-1 and B-2
    catalog_id = shop(api)
    api.delete(f"/catalogs/{catalog_id}/items/A-1")
    flow = launched(api, lookup_flow())["id"]
    person(api, "ana")
    viewed(api, "ana", sku="A-1")
    drain(api)
    assert [m["text"] for m in messages(api, flow)] == ["Sold out"]
