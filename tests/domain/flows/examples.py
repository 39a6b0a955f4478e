"""Documents and contexts the flow tests share: DESIGN.md's example and a flow that uses
every element type, both valid against `CONTEXT`."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.documents import DESIGN_EXAMPLE
from tidings.domain.flows import ValidationContext
from tidings.domain.people import STANDARD_TYPES
from tidings.domain.values import ValueType as V

CONTEXT = ValidationContext(
    events={
        "CartAbandoned": {"cartValue": V.decimal, "items": V.list, "sku": V.text},
        "PurchaseFinished": {"amount": V.decimal},
    },
    attributes={**STANDARD_TYPES, "loyaltyPoints": V.integer},
    segments={1: "VIP", 2: "Newsletter"},
    tags=frozenset({"vip", "buyer"}),
    catalogs={"products": {"sku": V.text, "price": V.decimal}},
    flows={7: True, 8: False},
    taken_inbound=frozenset({("sms", "+385991234567", "STOP"), ("viber", "ShopCo", None)}),
    flow_id=3,
)

# One of every element type, all reachable, no loop, valid against CONTEXT but for
# evaluate_inbound, which needs an inbound entry (test_validate puts one in).
EVERY_ELEMENT: dict[str, Any] = {
    "name": "Every element",
    "timezone": "Europe/Zagreb",
    "entry": {
        "type": "event",
        "event": "CartAbandoned",
        "where": "event.cartValue > 50",
        "assign": {"cartValue": "event.cartValue", "items": "event.items", "sku": "event.sku"},
        "ui": {"x": 0, "y": -120.5},
    },
    "settings": {
        "reentry": {"enabled": False},
        "schedule": {"start": "2026-01-05T09:00:00+01:00", "end": "2026-12-31T23:00:00Z"},
        "goal": {"event": "PurchaseFinished", "where": "event.amount > 0", "value": "event.amount"},
    },
    "variables": [
        {"name": "cartValue", "type": "decimal", "default": "0"},
        {"name": "items", "type": "list"},
        {"name": "sku", "type": "text"},
        {"name": "digits", "type": "text"},
        {"name": "price", "type": "decimal"},
        {"name": "status", "type": "integer", "default": "0"},
        {"name": "reply", "type": "text"},
        {"name": "sender", "type": "text"},
    ],
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "from": "ShopCo",
            "text": "Hi",
            "next": "wait1",
            "ui": {"x": 10, "y": 20},
        },
        {"id": "wait1", "type": "wait", "duration": "PT1H", "next": "seg1"},
        {
            "id": "seg1",
            "type": "segment",
            "branches": [{"name": "big", "when": 'cartValue > 100 and person.country == "HR"'}],
            "next": {"big": "split1", "otherwise": "email1"},
        },
        {
            "id": "split1",
            "type": "split",
            "branches": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}],
            "next": {"A": "wa1", "B": "viber1"},
        },
        {
            "id": "wa1",
            "type": "send_whatsapp",
            "from": "385991234567",
            "template": {
                "name": "cart_reminder",
                "language": "en",
                "params": ['{{ person.firstName | default: "there" }}'],
            },
            "next": "voice1",
        },
        {
            "id": "viber1",
            "type": "send_viber",
            "from": "ShopCo",
            "text": "Your cart misses you",
            "image": "https://example.com/cart.png",
            "button": {"text": "Open cart", "url": "https://example.com/cart"},
            "next": "voice1",
        },
        {
            "id": "voice1",
            "type": "voice_call",
            "from": "385991234567",
            "say": "Press 1 to finish your order",
            "language": "en",
            "collect": {"variable": "digits", "maxDigits": 1, "timeout": "PT5S"},
            "next": {"answered": "fo1", "notAnswered": "fo1", "collected": "fo1"},
        },
        {
            "id": "fo1",
            "type": "failover",
            "attempts": [
                {"type": "send_viber", "from": "ShopCo", "text": "Hi again"},
                {"type": "send_sms", "from": "ShopCo", "text": "Hi again"},
                {
                    "type": "send_email",
                    "from": "shop@example.com",
                    "subject": "Hi",
                    "text": "Hi again",
                },
                {"type": "send_whatsapp", "from": "385991234567", "text": "Hi again"},
            ],
            "waitForDelivery": "PT10M",
            "next": "api1",
        },
        {
            "id": "email1",
            "type": "send_email",
            "from": "shop@example.com",
            "replyTo": "help@example.com",
            "subject": "Still thinking, {{ person.firstName }}?",
            "html": "<p>{% if cartValue > 100 %}Big cart!{% endif %}</p>",
            "text": "Big cart",
            "next": "wfe1",
        },
        {
            "id": "wfe1",
            "type": "wait_for_event",
            "element": "email1",
            "event": "message.clicked",
            "timeout": "P1D",
            "next": {"event": "upd1", "timeout": "wfe2"},
        },
        {
            "id": "wfe2",
            "type": "wait_for_event",
            "event": "PurchaseFinished",
            "where": "event.amount >= cartValue",
            "timeout": "P2D",
            "assign": {"price": "event.amount"},
            "next": {"event": "upd1", "timeout": "api1"},
        },
        {
            "id": "upd1",
            "type": "update_profile",
            "set": {"loyaltyPoints": "10", "city": '"Zagreb"'},
            "addTags": ["buyer"],
            "removeTags": ["prospect"],
            "next": "var1",
        },
        {"id": "var1", "type": "update_variable", "set": {"status": "1"}, "next": "api1"},
        {
            "id": "api1",
            "type": "call_api",
            "method": "POST",
            "url": "https://api.example.com/carts/{{ sku }}",
            "headers": {"Authorization": "Bearer {{ person.firstName }}"},
            "body": '{"value": {{ cartValue }}}',
            "timeout": "PT5S",
            "retries": 1,
            "assign": {"status": "response.status"},
            "next": {"success": "cat1", "failure": "notify1"},
        },
        {
            "id": "cat1",
            "type": "catalog_lookup",
            "catalog": "products",
            "key": "sku",
            "assign": {"price": "item.price"},
            "next": {"found": "add1", "notFound": "exit1"},
        },
        {
            "id": "add1",
            "type": "add_to_flow",
            "flow": 7,
            "variables": {"cartValue": "cartValue"},
            "next": "inb1",
        },
        {
            "id": "inb1",
            "type": "evaluate_inbound",
            "branches": [{"name": "yes", "keyword": "YES"}, {"name": "no", "regex": "^no\\b"}],
            "assign": {"text": "reply", "sender": "sender"},
            "next": {"yes": "exit1", "no": "exit1", "otherwise": "exit1"},
        },
        {
            "id": "notify1",
            "type": "notify",
            "channel": "email",
            "to": '"ops@example.com"',
            "from": "flows@example.com",
            "subject": "API failed for {{ person.firstName }}",
            "html": "<p>status {{ status }}</p>",
            "next": "exit1",
        },
        {"id": "exit1", "type": "exit", "name": "Done"},
    ],
    "ui": {"zoom": 1.25, "viewport": {"x": 0, "y": 0}},
}

ENTRIES: dict[str, dict[str, Any]] = {
    "audience": {
        "type": "audience",
        "segments": [1, "Newsletter"],
        "tags": ["vip"],
        "people": ["p1", 42],
        "companies": ["Acme"],
        "update": "realtime",
    },
    "event": {"type": "event", "event": "CartAbandoned", "where": "event.cartValue > 50"},
    "api": {"type": "api"},
    "inbound": {
        "type": "inbound",
        "channel": "sms",
        "number": "+385991234567",
        "keyword": "JOIN",
        "assign": {"reply": "event.text"},
    },
    "sftp": {"type": "sftp", "connection": "crm", "path": "/exports/*.csv", "every": "PT1H"},
}


def design_example() -> dict[str, Any]:
    return copy.deepcopy(DESIGN_EXAMPLE)


def every_element() -> dict[str, Any]:
    return copy.deepcopy(EVERY_ELEMENT)


def element(data: dict[str, Any], element_id: str) -> dict[str, Any]:
    for item in data["elements"]:
        if item["id"] == element_id:
            return item  # type: ignore[no-any-return]
    raise KeyError(element_id)
