"""`message_needs`: what of a person composing a message reads."""

from __future__ import annotations

from typing import Any

from tidings.domain.journey import compile_program
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.needs import EVERYTHING, Needs, message_needs


def needs_of(*elements: dict[str, Any]) -> Needs:
    doc = {
        "name": "n",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "variables": [{"name": "coupon", "type": "text"}],
        "elements": list(elements),
    }
    program = compile_program(doc, flow_id=1, version=1)
    return message_needs(h.content for h in program.handlers.values() if isinstance(h, Send))


def test_an_sms_reads_its_paths_and_the_phone() -> None:
    sms = {"id": "s", "type": "send_sms", "from": "S", "text": "Hi {{ person.firstName }}"}
    assert needs_of(sms) == Needs(frozenset({"firstName"}), tags=False, phones=True, emails=False)


def test_variables_the_event_and_now_are_not_the_profile() -> None:
    text = "{{ coupon }} {{ event.cart }} {{ now }} {{ person.externalId }}"
    sms = {"id": "s", "type": "send_sms", "from": "S", "text": text}
    assert needs_of(sms) == Needs(frozenset(), tags=False, phones=True, emails=False)


def test_an_email_reads_custom_attributes_and_the_lists_it_names() -> None:
    email = {
        "id": "e",
        "type": "send_email",
        "from": "shop@example.com",
        "subject": "{{ person.loyalty | default: 'Hello' }}",
        "html": "<p>{{ person.tags }} {{ person.phones }}</p>",
    }
    assert needs_of(email) == Needs(frozenset({"loyalty"}), tags=True, phones=True, emails=True)


def test_liquid_the_whole_person_and_the_zone_need_everything() -> None:
    for text in (
        "{% if person.vip %}Hi{% endif %}",
        "{{ person.firstName | upcase }}",
        "{{ person }}",
        "{{ person.timezone }}",
    ):
        sms = {"id": "s", "type": "send_sms", "from": "S", "text": text}
        assert needs_of(sms) == EVERYTHING, text


def test_a_message_that_reads_nothing_is_rendered_once() -> None:
    from tidings.domain.journey.elements.content import Content

    def content_of(element: dict[str, Any]) -> Content:
        doc = {
            "name": "n",
            "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
            "elements": [element],
        }
        handler = compile_program(doc, flow_id=1, version=1).handlers["s"]
        assert isinstance(handler, Send)
        return handler.content

    fixed = content_of({"id": "s", "type": "send_sms", "from": "S", "text": "Your cart ✓"})
    assert fixed.static is not None
    assert (dict(fixed.static[0]), fixed.static[1]) == fixed.render({"person": {"x": 1}})
    personal = content_of({"id": "s", "type": "send_sms", "from": "S", "text": "Hi {{ now }}"})
    assert personal.static is None
    empty = content_of({"id": "s", "type": "send_sms", "from": "S", "text": " "})
    assert empty.static is None  # does not render: each send says why
