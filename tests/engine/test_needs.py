"""A set-based entry loads only what its messages read (`load_people(needs=...)`), and
each message is still the one the whole profile gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.domain.journey import compile_program
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.needs import message_needs
from tidings.domain.journey.uniform import personal_sends, uniform_move
from tidings.store.snapshots import load_people

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

PEOPLE: list[dict[str, Any]] = [
    {
        "externalId": "ana",
        "firstName": "Ana",
        "lastName": "Horvat",
        "city": "Zagreb",
        "timezone": "Europe/Zagreb",
        "phones": ["+385911111111", "+385912222222"],
        "emails": ["ana@example.com"],
        "tags": ["vip", "early"],
        "attributes": {"loyaltyPoints": 120, "plan": "gold"},
    },
    {"externalId": "bo", "phones": ["+385913333333"], "emails": ["bo@example.com"]},
    {"externalId": "cy", "firstName": "Cy", "emails": ["cy@example.com"]},  # no phone
]

MESSAGES: list[dict[str, Any]] = [
    {"type": "send_sms", "text": "Hi {{ person.firstName | default: 'there' }}, gold?"},
    {"type": "send_sms", "text": "{{ person.plan }} {{ person.loyaltyPoints }} {{ now }}"},
    {"type": "send_sms", "text": "{{ person.tags }} {{ person.externalId }} ✓"},
    {"type": "send_sms", "text": "Tags: {% for t in person.tags %}{{ t }},{% endfor %}"},
    {
        "type": "send_email",
        "from": "shop@example.com",
        "subject": "{{ person.lastName }} in {{ person.city }}",
        "html": "<p>{{ person.emails }} {{ person.timezone }}</p>",
    },
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: str(m.get("text", m["type"])))
def test_a_lean_profile_composes_the_same_message(
    api: Api, system: Tidings, message: dict[str, Any]
) -> None:
    api.post("/attributes", json={"name": "loyaltyPoints", "type": "integer"})
    api.post("/attributes", json={"name": "plan", "type": "text"})
    ids = []
    for body in PEOPLE:
        answer = api.post("/people", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(int(answer.json()["id"]))
    element = {"id": "m", "from": "Shop", **message}
    doc = {
        "name": "lean",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "elements": [element],
    }
    program = compile_program(doc, flow_id=1, version=1)
    move = uniform_move(program, None, "enter", NOW, sends=True)
    assert move is not None
    handler = program.handlers["m"]
    assert isinstance(handler, Send)
    needs = message_needs([handler.content])
    with system.db.read() as conn:
        whole = load_people(conn, ids)
        lean = load_people(conn, ids, needs)
    composed = [
        (
            personal_sends(program, move, whole[pid], NOW),
            personal_sends(program, move, lean[pid], NOW),
        )
        for pid in ids
    ]
    for full, leaner in composed:
        assert full == leaner
    assert any(full is not None for full, _ in composed)  # somebody got a message
    for person in lean.values():  # and nothing unread came along
        assert needs.tags or not person.tags
        assert needs.emails or not person.emails
        assert needs.attributes is None or set(person.attributes) <= needs.attributes
