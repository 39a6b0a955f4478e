"""DESIGN.md's cart-abandonment flow, end to end: SMS, then the purchase or the email."""

from __future__ import annotations

from datetime import timedelta

from tests.domain.journey.helpers import (
    ANA,
    CART,
    NOW,
    Journey,
    compiled,
    counts,
    of,
    traces,
    visited,
)
from tidings.domain.journey import (
    EventArrived,
    Phase,
    SendMessage,
    UpdateProfile,
    admits,
    goal_reached,
)


def test_entered_sends_the_sms_with_its_parts_and_waits_for_the_purchase() -> None:
    journey = Journey(CART)
    step = journey.enter(cartValue=80)
    [sms] = of(SendMessage, step)
    assert sms == SendMessage(
        element="sms1",
        channel="sms",
        to="+385911234567",
        sender="ShopCo",
        content={"text": "Hi Ana, your cart of 80 EUR is waiting"},
        parts=1,
    )
    state = step.state
    assert state.phase is Phase.waiting
    assert state.element == "wait1"
    assert state.waiting_for == "PurchaseFinished"
    assert state.wake_at == NOW + timedelta(days=1)
    assert state.variables == {"cartValue": 80}
    assert state.entry_event == {"cartValue": 80}
    assert counts(step) == {
        ("profilesInFlow", None): 1,
        ("totalEngagements", "sms1"): 1,
        ("messagesSent", None): 1,
        ("messagesSent", "sms1"): 1,
        ("totalEngagements", "wait1"): 1,
    }
    assert visited(step) == ["sms1", "wait1"]


def test_a_long_unicode_sms_counts_every_part() -> None:
    text = "Ćao {{ person.firstName }}! " * 9  # "Ćao Ana! " * 9: 81 UCS-2 units
    doc = {**CART, "elements": [dict(CART["elements"][0], text=text)]}
    step = Journey(doc).enter(cartValue=80)
    [sms] = of(SendMessage, step)
    assert sms.parts == 2
    assert counts(step)[("messagesSent", None)] == 2
    assert counts(step)[("messagesSent", "sms1")] == 2


def test_the_purchase_tags_the_buyer_and_exits() -> None:
    journey = Journey(CART)
    journey.enter(cartValue=80)
    journey.now += timedelta(hours=3)
    step = journey.event("PurchaseFinished", amount=80)
    assert of(UpdateProfile, step) == [UpdateProfile(set={}, add_tags=("buyer",))]
    assert step.state.phase is Phase.exited
    assert step.state.exit_reason == "completed"
    assert step.state.element == "thanks"
    assert "buyer" in step.state.person.tags
    assert counts(step) == {
        ("goalPerformers", None): 1,  # PurchaseFinished is the flow's goal too
        ("totalEngagements", "thanks"): 1,
        ("profilesExited", None): 1,
    }
    assert traces(step, "outcome") == [("wait1", "outcome", "event PurchaseFinished")]
    assert traces(step, "goal reached") == [("wait1", "goal reached", "PurchaseFinished")]
    assert step.state.local == {"goal": "2026-01-05T12:00:00Z"}
    assert of(SendMessage, step) == []


def test_without_a_purchase_the_timeout_sends_the_email() -> None:
    journey = Journey(CART)
    journey.enter(cartValue=80)
    early = journey.wait(timedelta(hours=23))
    assert early.effects == ()
    assert early.state is journey.steps[0].state
    step = journey.wait(timedelta(hours=1))
    [email] = of(SendMessage, step)
    assert email.channel == "email"
    assert email.to == "ana@example.com"
    assert email.content == {"subject": "Still thinking?", "html": "<p>Hi Ana</p>"}
    assert step.state.phase is Phase.exited
    assert step.state.element == "email1"
    assert visited(step) == ["email1"]
    assert counts(step)[("profilesExited", None)] == 1


def test_a_purchase_after_the_exit_changes_nothing() -> None:
    journey = Journey(CART)
    journey.enter(cartValue=80)
    journey.until_wake()
    done = journey.state
    step = journey.event("PurchaseFinished")
    assert step.state is done
    assert step.effects == ()


def test_other_events_do_not_end_the_wait() -> None:
    journey = Journey(CART)
    journey.enter(cartValue=80)
    before = journey.state
    step = journey.event("CartAbandoned", cartValue=99)
    assert step.state is before
    assert step.effects == ()


def test_the_entry_condition_and_the_goal() -> None:
    program = compiled(CART)
    assert admits(program, ANA, {"cartValue": 80}, NOW)
    assert not admits(program, ANA, {"cartValue": 20}, NOW)
    assert not admits(program, ANA, {}, NOW)
    journey = Journey(program)
    journey.enter(cartValue=80)
    hit = goal_reached(program, journey.state, EventArrived("PurchaseFinished", {}, NOW), NOW)
    assert hit is not None
    assert hit.value is None
    other = EventArrived("CartAbandoned", {}, NOW)
    assert goal_reached(program, journey.state, other, NOW) is None
