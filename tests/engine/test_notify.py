"""notify end to end on the virtual clock, through the public API, on both databases: a
message to someone inside the business, at an address an expression computes, through
the outbox to the sandbox like any send, counted on its element and not as a message to
the person."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, event, messages, perf, person


def store_flow(api: Api, *notifies: dict[str, Any]) -> int:
    define_events(api)
    answer = api.post("/attributes", json={"name": "storeManagerPhone", "type": "text"})
    assert answer.status_code in (200, 201), answer.text
    elements: list[dict[str, Any]] = [
        {"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}
    ]
    for notify in notifies:
        elements[-1] = {"next": notify["id"], **elements[-1]}
        elements.append(notify)
    doc = {
        "name": "Store",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "elements": elements,
    }
    return int(launched(api, doc)["id"])


MANAGER_SMS = {
    "id": "boss",
    "type": "notify",
    "channel": "sms",
    "from": "Tidings",
    "to": "person.storeManagerPhone",
    "text": "{{ person.firstName }} left a cart of {{ event.cartValue }} EUR",
}
SALES_EMAIL = {
    "id": "sales",
    "type": "notify",
    "channel": "email",
    "from": "flows@shop.example",
    "to": 'if(event.cartValue > 100, "key-accounts@shop.example", "sales@shop.example")',
    "subject": "Cart of {{ person.firstName }}",
    "html": "<p>{{ event.cartValue }} EUR</p>",
}


def test_the_store_manager_gets_an_sms_at_the_number_on_the_profile(api: Api) -> None:
    flow = store_flow(api, MANAGER_SMS, SALES_EMAIL)
    pid = person(api, attributes={"storeManagerPhone": "+385 91 999 9999"})
    event(api, "CartAbandoned", cartValue=80)
    drain(api, "PT1H")
    sent = {m["element"]: m for m in messages(api, flow)}
    assert sent["sms1"]["to"] == "+385911234567"  # the person's own message
    boss = sent["boss"]
    assert (boss["channel"], boss["to"], boss["from"]) == ("sms", "+385919999999", "Tidings")
    assert boss["text"] == "Ana left a cart of 80 EUR"
    assert boss["person"] == pid  # whom it is about
    sales = sent["sales"]
    assert (sales["channel"], sales["to"]) == ("email", "sales@shop.example")
    assert (sales["subject"], sales["html"]) == ("Cart of Ana", "<p>80 EUR</p>")

    stats = perf(api, flow)
    assert stats["elements"]["boss"]["messagesSent"] == 1
    assert stats["elements"]["sales"]["messagesSent"] == 1
    assert stats["flow"]["messagesSent"] == 1  # only the message to the person
    # The person hears back only about their own message.
    names = [
        (e["name"], e["properties"].get("element"))
        for e in api.get(f"/people/{pid}/events").json()["items"]
    ]
    assert ("message.delivered", "sms1") in names
    assert not [name for name in names if name[1] in ("boss", "sales")]


def test_the_address_is_computed_per_person(api: Api) -> None:
    flow = store_flow(api, SALES_EMAIL)
    person(api, "a")
    person(api, "b", phones=["+385911234568"])
    event(api, "CartAbandoned", "a", cartValue=80)
    event(api, "CartAbandoned", "b", cartValue=500)
    drain(api)
    to = sorted(m["to"] for m in messages(api, flow) if m["element"] == "sales")
    assert to == ["key-accounts@shop.example", "sales@shop.example"]


def test_a_long_notification_counts_its_parts(api: Api) -> None:
    long = {**MANAGER_SMS, "text": "{{ person.firstName }} " + "x" * 200}
    flow = store_flow(api, long)
    person(api, attributes={"storeManagerPhone": "+385919999999"})
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    [boss] = [m for m in messages(api, flow) if m["element"] == "boss"]
    assert boss["parts"] == 2
    assert perf(api, flow)["elements"]["boss"]["messagesSent"] == 2


def test_without_a_usable_address_nothing_is_sent_and_the_person_goes_on(api: Api) -> None:
    after = {"id": "after", "type": "send_sms", "from": "Shop", "text": "Bye"}
    flow = store_flow(api, {**MANAGER_SMS, "next": "after"}, after)
    person(api, "none")  # no storeManagerPhone
    person(api, "bad", phones=["+385911234568"], attributes={"storeManagerPhone": "call Ivo"})
    event(api, "CartAbandoned", "none", cartValue=80)
    event(api, "CartAbandoned", "bad", cartValue=80)
    drain(api)
    sent = [m["element"] for m in messages(api, flow)]
    assert sorted(sent) == ["after", "after", "sms1", "sms1"]
    stats = perf(api, flow)["elements"]
    assert stats["boss"]["totalEngagements"] == 2
    assert stats["boss"]["messagesSent"] == 0
