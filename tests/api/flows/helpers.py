"""Documents and set-up shared by the flow API tests."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import Api

CART: dict[str, Any] = {
    "name": "Cart abandonment",
    "timezone": "Europe/Zagreb",
    "entry": {
        "type": "event",
        "event": "CartAbandoned",
        "where": "event.cartValue > 50",
        "assign": {"cartValue": "event.cartValue"},
    },
    "settings": {
        "reentry": {"enabled": True, "delay": "PT24H", "limits": [{"max": 2, "per": "P7D"}]},
        "schedule": {"start": None, "end": None},
        "sendWindow": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "from": "09:00",
            "to": "20:00",
            "timezone": "recipient",
        },
        "goal": {"event": "PurchaseFinished"},
    },
    "variables": [{"name": "cartValue", "type": "decimal", "default": "0"}],
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "name": "Reminder SMS",
            "from": "ShopCo",
            "text": "Hi {{ person.firstName }}, your cart of {{ cartValue }} EUR is waiting",
            "next": "wait1",
        },
        {
            "id": "wait1",
            "type": "wait_for_event",
            "event": "PurchaseFinished",
            "timeout": "P1D",
            "next": {"event": "thanks", "timeout": "email1"},
        },
        {
            "id": "email1",
            "type": "send_email",
            "name": "Reminder email",
            "from": "shop@example.com",
            "subject": "Still thinking?",
            "html": "<p>Hi {{ person.firstName }}</p>",
        },
        {"id": "thanks", "type": "update_profile", "addTags": ["buyer"]},
    ],
}


def cart(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CART)
    doc.update(changes)
    return doc


def define_events(api: Api) -> None:
    for name, props in [
        ("CartAbandoned", {"cartValue": "decimal"}),
        ("PurchaseFinished", {"amount": "decimal"}),
    ]:
        answer = api.post("/event-definitions", json={"name": name, "properties": props})
        assert answer.status_code in (201, 409), answer.text


def new_flow(api: Api, document: dict[str, Any] | None = None) -> dict[str, Any]:
    define_events(api)
    answer = api.post("/flows", json=document or cart())
    assert answer.status_code == 201, answer.text
    flow: dict[str, Any] = answer.json()
    return flow


def launched(api: Api, document: dict[str, Any] | None = None) -> dict[str, Any]:
    flow = new_flow(api, document)
    answer = api.post(f"/flows/{flow['id']}/launch")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result
