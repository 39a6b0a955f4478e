"""add_to_flow's chain of hops (loops of flows are bounded) and notify's recipients."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.domain.journey.helpers import Journey, counts, flow, of, traces
from tidings.domain.journey import AddToFlow, Entered, Notify, TimerDue
from tidings.domain.journey.elements.actions import MAX_HOPS

ADD = {"id": "add", "type": "add_to_flow", "flow": 12, "next": "after"}
AFTER = {"id": "after", "type": "update_variable", "set": {}}


def test_the_first_add_starts_a_chain() -> None:
    step = Journey(flow(ADD, AFTER)).enter()
    assert of(AddToFlow, step) == [AddToFlow("add", 12, {}, 1)]


def test_a_person_added_on_at_once_continues_the_chain() -> None:
    journey = Journey(flow(ADD, AFTER))
    step = journey.apply(Entered({}, None, hops=3))
    assert [effect.hops for effect in of(AddToFlow, step)] == [4]


def test_beyond_the_limit_the_person_is_not_added_and_goes_on() -> None:
    journey = Journey(flow(ADD, AFTER))
    step = journey.apply(Entered({}, None, hops=MAX_HOPS))
    assert of(AddToFlow, step) == []
    assert counts(step)[("refused.loop", "add")] == 1
    [(_, _, why)] = traces(step, "skipped")
    assert why is not None
    assert "loop" in why
    assert step.state.element == "after"  # the person goes on


@pytest.mark.parametrize(
    ("wait", "hops"),
    [("PT10M", 6), ("PT59M", 6), ("PT1H", 1), ("P1D", 1)],
)
def test_the_chain_is_remembered_through_short_waits_only(wait: str, hops: int) -> None:
    doc = flow({"id": "w", "type": "wait", "duration": wait, "next": "add"}, ADD, AFTER)
    journey = Journey(doc)
    entered = journey.apply(Entered({}, None, hops=5))
    assert entered.state.local.get("hops") == 5  # kept while the person waits
    step = journey.until_wake()
    assert [effect.hops for effect in of(AddToFlow, step)] == [hops]


def test_the_chain_is_kept_only_where_there_is_one() -> None:
    step = Journey(flow({"id": "w", "type": "wait", "duration": "PT1H"})).enter()
    assert "hops" not in step.state.local
    journey = Journey(flow({"id": "w", "type": "wait", "duration": "PT1H"}))
    journey.apply(Entered({}, None, hops=2))
    journey.now += timedelta(minutes=1)
    assert journey.apply(TimerDue()).state.local.get("hops") == 2  # not due: unmoved


def notify(**fields: Any) -> dict[str, Any]:
    return {"id": "n", "type": "notify", "channel": "sms", "from": "Shop", "text": "Hi", **fields}


@pytest.mark.parametrize(
    ("to", "sent_to"),
    [
        ('"+385 91 999 9999"', "+385919999999"),
        ('concat("+38591", "9999999")', "+385919999999"),
    ],
)
def test_notify_normalizes_a_phone_number(to: str, sent_to: str) -> None:
    [sent] = of(Notify, Journey(flow(notify(to=to))).enter())
    assert sent.to == sent_to


@pytest.mark.parametrize(
    ("element", "why"),
    [
        (notify(to='"0919999999"'), "to: '0919999999' is not a phone number"),
        (notify(to='"sales@example.com"'), "to: 'sales@example.com' is not a phone number"),
        (
            notify(channel="email", to='"not an address"', subject="s", html="h", text=None),
            "to: 'not an address' is not a valid email address",
        ),
        (notify(to="person.storeManagerPhone"), "no recipient"),
        (notify(text="{{ 1 | divided_by: 0 }}"), "text: "),
    ],
)
def test_notify_skips_what_cannot_go_and_the_person_goes_on(
    element: dict[str, Any], why: str
) -> None:
    element = {**element, "to": element.get("to", '"+385919999999"'), "next": "after"}
    step = Journey(flow(element, AFTER)).enter()
    assert of(Notify, step) == []
    [(_, _, reason)] = traces(step, "skipped")
    assert reason is not None
    assert reason.startswith(why)
    assert ("messagesSent", "n") not in counts(step)
    assert step.state.element == "after"


def test_notify_by_email_normalizes_the_address() -> None:
    element = notify(channel="email", to='"Sales@Example.COM"', subject="s", html="<p>h</p>")
    [sent] = of(Notify, Journey(flow(element)).enter())
    assert (sent.channel, sent.to, sent.content) == (
        "email",
        "sales@example.com",
        {"subject": "s", "html": "<p>h</p>"},
    )
