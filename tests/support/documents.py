"""Flow documents shared by the test layers."""

from __future__ import annotations

from typing import Any

# DESIGN.md, "Flow documents", verbatim.
DESIGN_EXAMPLE: dict[str, Any] = {
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
