"""The lift-off summary: who enters, how often, from which senders."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.flows import channels_used, describe_entry, describe_reentry, parse_document

from .examples import CONTEXT, ENTRIES, design_example, every_element


def with_entry(entry: dict[str, Any] | None) -> Any:
    data = design_example()
    data["entry"] = entry
    return parse_document(data)


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        (None, "Nobody yet: the flow has no entry"),
        (ENTRIES["event"], "People who trigger CartAbandoned where event.cartValue > 50"),
        ({"type": "event", "event": "SignedUp"}, "People who trigger SignedUp"),
        (ENTRIES["api"], "People added through the Flow API"),
        (ENTRIES["inbound"], "People who send JOIN to +385991234567 by SMS"),
        (
            {"type": "inbound", "channel": "whatsapp", "number": "385"},
            "People who send any message to 385 by WhatsApp",
        ),
        (
            ENTRIES["sftp"],
            "People listed in new files at /exports/*.csv on the SFTP connection crm, "
            "checked every 1 hour",
        ),
        (
            ENTRIES["audience"],
            "People in segments VIP and Newsletter, tagged vip, picked by hand (2) or in company "
            "Acme; people who join later enter too",
        ),
        (
            {"type": "audience", "tags": ["vip", "gold"]},
            "People tagged vip or gold, as they are at launch",
        ),
        ({"type": "audience"}, "Nobody yet: the predefined audience is empty"),
    ],
)
def test_describe_entry(entry: dict[str, Any] | None, sentence: str) -> None:
    assert describe_entry(with_entry(entry), CONTEXT) == sentence


def test_segment_ids_without_context() -> None:
    doc = with_entry({"type": "audience", "segments": [1]})
    assert describe_entry(doc) == "People in segment 1, as they are at launch"


def test_describe_reentry() -> None:
    assert describe_reentry(parse_document(design_example())) == (
        "A person may enter again 1 day after they exit, at most 2 times in any 7 days"
    )
    assert describe_reentry(parse_document({})) == "A person may enter again right after they exit"
    once = parse_document({"settings": {"reentry": {"enabled": False}}})
    assert describe_reentry(once) == "Each person enters at most once"


def test_channels_used() -> None:
    assert channels_used(parse_document(design_example())) == [
        {"channel": "sms", "from": "ShopCo"},
        {"channel": "email", "from": "shop@example.com"},
    ]
    assert channels_used(parse_document(every_element())) == [
        {"channel": "sms", "from": "ShopCo"},
        {"channel": "whatsapp", "from": "385991234567"},
        {"channel": "viber", "from": "ShopCo"},
        {"channel": "voice", "from": "385991234567"},
        {"channel": "email", "from": "shop@example.com"},
        {"channel": "email", "from": "flows@example.com"},
    ]
