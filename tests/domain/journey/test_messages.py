"""Send elements on every channel, voice calls and failover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.domain.journey.helpers import ANA, NOBODY, NOW, Journey, counts, flow, of, traces
from tidings.domain.journey import Phase, ResultArrived, SendMessage

NEXT = {"id": "next", "type": "update_profile", "addTags": ["after"]}


def sent(element: dict[str, Any], person: Any = ANA, **fields: Any) -> Journey:
    journey = Journey(flow({"id": "m", **element, "next": "next"}, NEXT, **fields), person)
    journey.enter({"code": "X1"}, cartValue=80)
    return journey


VARIABLES = [{"name": "code", "type": "text"}]


@pytest.mark.parametrize(
    ("element", "channel", "to", "content"),
    [
        (
            {
                "type": "send_sms",
                "from": "ShopCo",
                "text": "Code {{ code }} for {{ event.cartValue }}",
            },
            "sms",
            "+385911234567",
            {"text": "Code X1 for 80"},
        ),
        (
            {
                "type": "send_email",
                "from": "shop@example.com",
                "replyTo": "help@example.com",
                "subject": "Hi {{ person.firstName }}",
                "html": "<p>{{ code }}</p>",
                "text": "{{ code }}",
            },
            "email",
            "ana@example.com",
            {
                "subject": "Hi Ana",
                "html": "<p>X1</p>",
                "text": "X1",
                "replyTo": "help@example.com",
            },
        ),
        (
            {"type": "send_whatsapp", "from": "+38512", "text": "Bok {{ person.firstName }}"},
            "whatsapp",
            "+385911234567",
            {"text": "Bok Ana"},
        ),
        (
            {
                "type": "send_whatsapp",
                "from": "+38512",
                "template": {"name": "cart", "language": "hr", "params": ["{{ code }}", "x"]},
            },
            "whatsapp",
            "+385911234567",
            {"template": {"name": "cart", "language": "hr", "params": ["X1", "x"]}},
        ),
        (
            {
                "type": "send_viber",
                "from": "Shop",
                "text": "{{ code }}",
                "image": "https://example.com/i.png",
                "button": {"text": "Go", "url": "https://example.com/{{ code }}"},
            },
            "viber",
            "+385911234567",
            {
                "text": "X1",
                "image": "https://example.com/i.png",
                "button": {"text": "Go", "url": "https://example.com/X1"},
            },
        ),
    ],
)
def test_each_channel_renders_and_sends(
    element: dict[str, Any], channel: str, to: str, content: dict[str, Any]
) -> None:
    journey = sent(element, variables=VARIABLES, entry={"type": "event", "event": "Cart"})
    [message] = of(SendMessage, journey)
    assert (message.element, message.channel, message.to, message.content) == (
        "m",
        channel,
        to,
        content,
    )
    assert message.sender == element["from"]
    assert (message.parts, message.wants_result) == (1, False)
    assert counts(journey)[("messagesSent", "m")] == 1
    assert journey.state.element == "next"


def test_templates_see_now_tags_and_the_external_id() -> None:
    text = "{{ now }} {{ person.externalId }} {{ person.tags | join: ',' }} {{ person.phones[0] }}"
    journey = sent({"type": "send_sms", "from": "S", "text": text})
    [message] = of(SendMessage, journey)
    assert message.content == {"text": "2026-01-05T09:00:00Z p1 vip +385911234567"}


@pytest.mark.parametrize(
    ("element", "why"),
    [
        ({"type": "send_sms", "from": "S", "text": "Hi"}, "no phone number"),
        ({"type": "send_whatsapp", "from": "S", "text": "Hi"}, "no phone number"),
        ({"type": "send_viber", "from": "S", "text": "Hi"}, "no phone number"),
        ({"type": "send_email", "from": "a@b.c", "subject": "s", "html": "h"}, "no email address"),
    ],
)
def test_no_contact_no_send_and_the_person_goes_on(element: dict[str, Any], why: str) -> None:
    journey = sent(element, NOBODY)
    assert of(SendMessage, journey) == []
    assert traces(journey, "skipped") == [("m", "skipped", why)]
    assert ("messagesSent", None) not in counts(journey)
    assert journey.state.element == "next"


@pytest.mark.parametrize(
    ("element", "why"),
    [
        ({"type": "send_sms", "from": "S", "text": "{{ code }}"}, "text: the text is empty"),
        (
            {"type": "send_sms", "from": "S", "text": "{{ 'x' | divided_by: 0 }}"},
            "text: ",
        ),
        (
            {"type": "send_email", "from": "a@b.c", "subject": "s", "html": " "},
            "html: the email is empty",
        ),
        ({"type": "send_viber", "from": "S", "text": ""}, "text: the message is empty"),
    ],
)
def test_a_message_that_does_not_render_is_skipped(element: dict[str, Any], why: str) -> None:
    journey = sent(element, variables=[{"name": "other", "type": "text"}])
    assert of(SendMessage, journey) == []
    [(_, _, reason)] = traces(journey, "skipped")
    assert reason is not None
    assert reason.startswith(why)
    assert journey.state.element == "next"


# --- voice calls ------------------------------------------------------------------------

CALL = {
    "id": "call",
    "type": "voice_call",
    "from": "+38511",
    "say": "Hello {{ person.firstName }}, press 1",
    "language": "en",
    "collect": {"variable": "digits", "maxDigits": 1},
}
OUTCOMES = {"answered": "a", "notAnswered": "n", "collected": "c"}


def calling(call: dict[str, Any] | None = None, person: Any = ANA) -> Journey:
    doc = flow(
        {**(call or CALL), "next": dict(OUTCOMES)},
        *({"id": i, "type": "update_profile", "addTags": [i]} for i in OUTCOMES.values()),
        variables=[{"name": "digits", "type": "integer"}],
    )
    journey = Journey(doc, person)
    journey.enter()
    return journey


def test_a_voice_call_waits_for_its_result() -> None:
    journey = calling()
    [message] = of(SendMessage, journey)
    assert message.channel == "voice"
    assert message.wants_result
    assert message.content == {
        "say": "Hello Ana, press 1",
        "language": "en",
        "collect": {"maxDigits": 1, "timeout": "PT5S"},
    }
    assert journey.state.phase is Phase.waiting
    assert journey.state.element == "call"
    step = journey.apply(ResultArrived("call", "collected", {"digits": "1"}))
    assert step.state.variables["digits"] == 1
    assert step.state.element == "c"


@pytest.mark.parametrize("outcome", ["answered", "notAnswered"])
def test_a_voice_call_takes_the_reported_outcome(outcome: str) -> None:
    journey = calling()
    step = journey.apply(ResultArrived("call", outcome))
    assert step.state.element == OUTCOMES[outcome]
    assert traces(step, "outcome") == [("call", "outcome", outcome)]


def test_digits_without_a_collected_branch_count_as_answered() -> None:
    doc = flow(
        {**CALL, "next": {"answered": "a"}},
        {"id": "a", "type": "exit"},
        variables=[{"name": "digits", "type": "integer"}],
    )
    journey = Journey(doc)
    journey.enter()
    assert journey.apply(ResultArrived("call", "collected", {"digits": "7"})).state.element == "a"


def test_a_voice_call_without_a_phone_or_a_result_is_not_answered() -> None:
    assert calling(person=NOBODY).state.element == "n"
    journey = calling()
    unknown = journey.apply(ResultArrived("call", "busy"))
    assert unknown.state.element == "call"
    assert traces(unknown) == [("call", "result ignored", "unknown outcome 'busy'")]
    assert journey.until_wake().state.element == "n"


# --- failover ---------------------------------------------------------------------------

FAILOVER = {
    "id": "fo",
    "type": "failover",
    "attempts": [
        {"type": "send_whatsapp", "from": "+38512", "text": "WA {{ person.firstName }}"},
        {"type": "send_sms", "from": "ShopCo", "text": "SMS {{ person.firstName }}"},
        {"type": "send_email", "from": "a@b.c", "subject": "Mail", "html": "<p>Mail</p>"},
    ],
    "waitForDelivery": "PT10M",
    "next": {"delivered": "ok", "failed": "ko"},
}


def failing_over(person: Any = ANA) -> Journey:
    doc = flow(FAILOVER, {"id": "ok", "type": "exit"}, {"id": "ko", "type": "exit"})
    journey = Journey(doc, person)
    journey.enter()
    return journey


def test_failover_tries_channels_in_order_until_one_is_delivered() -> None:
    journey = failing_over()
    [wa] = of(SendMessage, journey)
    assert (wa.channel, wa.wants_result, wa.attempt) == ("whatsapp", True, 0)
    assert journey.state.wake_at == NOW + timedelta(minutes=10)
    assert journey.state.local == {"attempt": 0}
    step = journey.apply(ResultArrived("fo", "failed", {"reason": "not on WhatsApp"}))
    [sms] = of(SendMessage, step)
    assert (sms.channel, sms.attempt, sms.content) == ("sms", 1, {"text": "SMS Ana"})
    assert traces(step, "attempt failed") == [("fo", "attempt failed", "whatsapp: not on WhatsApp")]
    late = journey.apply(ResultArrived("fo", "delivered", {"attempt": 0}))
    assert late.state is step.state  # a late report of the first attempt
    step = journey.apply(ResultArrived("fo", "delivered", {"attempt": 1}))
    assert step.state.element == "ok"
    assert counts(journey)[("messagesSent", "fo")] == 2


def test_failover_moves_on_when_no_report_comes_in_time() -> None:
    journey = failing_over()
    step = journey.wait(timedelta(minutes=10))
    assert [m.channel for m in of(SendMessage, step)] == ["sms"]
    step = journey.wait(timedelta(minutes=10))
    assert [m.channel for m in of(SendMessage, step)] == ["email"]
    step = journey.wait(timedelta(minutes=10))
    assert step.state.element == "ko"
    assert traces(step, "outcome") == [("fo", "outcome", "failed: no channel left to try")]


def test_failover_skips_channels_the_person_cannot_be_reached_on() -> None:
    journey = failing_over(ANA._replace(phones=()))
    [email] = of(SendMessage, journey)
    assert (email.channel, email.attempt) == ("email", 2)
    assert [t[2] for t in traces(journey, "skipped")] == ["no phone number", "no phone number"]
    assert failing_over(NOBODY).state.element == "ko"


def test_seen_counts_as_delivered() -> None:
    journey = failing_over()
    assert journey.apply(ResultArrived("fo", "seen")).state.element == "ok"
