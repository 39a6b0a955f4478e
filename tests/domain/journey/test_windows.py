"""The send window in the step function: sends outside it wait for the opening or drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.domain.journey.helpers import ANA, CART, NOW, Journey, counts, flow, of, traces
from tidings.domain.journey import Notify, Phase, ResultArrived, SendMessage, TimerDue

ZAGREB = ZoneInfo("Europe/Zagreb")
SATURDAY = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)  # 12:00 in Zagreb
MONDAY_9 = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 in Zagreb
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
SMS = {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "after"}
AFTER = {"id": "after", "type": "update_profile", "addTags": ["after"]}


def windowed(
    *elements: dict[str, Any], person: Any = ANA, at: datetime = SATURDAY, **window: Any
) -> Journey:
    setting = {"days": WEEKDAYS, "from": "09:00", "to": "20:00", **window}
    doc = flow(*elements, timezone="Europe/Zagreb", settings={"sendWindow": setting})
    journey = Journey(doc, person)
    journey.now = at
    journey.enter()
    return journey


def test_a_send_outside_the_window_waits_at_the_element_for_the_opening() -> None:
    journey = windowed(SMS, AFTER)
    state = journey.state
    assert of(SendMessage, journey) == []
    assert (state.phase, state.element, state.wake_at) == (Phase.waiting, "sms", MONDAY_9)
    assert state.local == {"window": True}
    assert traces(journey, "deferred") == [
        ("sms", "deferred", "outside the send window: until 2026-01-12T08:00:00Z")
    ]
    assert counts(journey)[("sendsDeferred", None)] == 1
    assert counts(journey)[("sendsDeferred", "sms")] == 1
    step = journey.until_wake()
    assert [m.channel for m in of(SendMessage, step)] == ["sms"]
    assert step.state.phase is Phase.exited
    assert "after" in step.state.person.tags
    # Arriving at the element counted once, not again when the window opened.
    assert counts(journey)[("totalEngagements", "sms")] == 1


def test_inside_the_window_nothing_changes() -> None:
    journey = windowed(SMS, AFTER, at=MONDAY_9)
    assert [m.channel for m in of(SendMessage, journey)] == ["sms"]
    assert traces(journey, "deferred") == []
    assert ("sendsDeferred", None) not in counts(journey)


def test_drop_sends_nothing_and_goes_on() -> None:
    journey = windowed(SMS, AFTER, outside="drop")
    assert of(SendMessage, journey) == []
    assert journey.state.phase is Phase.exited
    assert "after" in journey.state.person.tags
    assert traces(journey, "dropped") == [
        ("sms", "dropped", "outside the send window (mon,tue,wed,thu,fri 09:00-20:00)")
    ]
    assert counts(journey)[("sendsDropped", None)] == 1
    assert counts(journey)[("sendsDropped", "sms")] == 1


def test_the_recipients_zone_first_then_the_flows() -> None:
    # Monday 08:30 UTC: 09:30 in Zagreb (open), 03:30 in New York (closed until 09:00 EST).
    monday = datetime(2026, 1, 12, 8, 30, tzinfo=UTC)
    new_yorker = ANA._replace(timezone="America/New_York")
    journey = windowed(SMS, person=new_yorker, at=monday)
    assert journey.state.wake_at == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)
    by_attribute = ANA._replace(timezone=None, attributes={"timezone": "America/New_York"})
    assert windowed(SMS, person=by_attribute, at=monday).state.wake_at == journey.state.wake_at
    no_zone = ANA._replace(timezone=None)  # the flow's zone, Zagreb: open
    assert [m.channel for m in of(SendMessage, windowed(SMS, person=no_zone, at=monday))] == ["sms"]
    unknown = ANA._replace(timezone="Mars/Base")
    assert of(SendMessage, windowed(SMS, person=unknown, at=monday))


def test_the_flows_zone_or_a_named_one_when_the_window_says_so() -> None:
    monday = datetime(2026, 1, 12, 8, 30, tzinfo=UTC)
    new_yorker = ANA._replace(timezone="America/New_York")
    assert of(SendMessage, windowed(SMS, person=new_yorker, at=monday, timezone="flow"))
    tokyo = windowed(SMS, at=monday, timezone="Asia/Tokyo")  # 17:30 in Tokyo: open
    assert of(SendMessage, tokyo)
    late = windowed(SMS, at=monday + timedelta(hours=3), timezone="Asia/Tokyo")
    assert late.state.wake_at == datetime(2026, 1, 13, 0, 0, tzinfo=UTC)  # 09:00 Tuesday


def test_a_wake_that_comes_late_outside_the_window_waits_again() -> None:
    # A paused flow resumed on Monday at 21:00: the overdue timer must not send at night.
    journey = windowed(SMS, AFTER)
    journey.now = datetime(2026, 1, 12, 20, 0, tzinfo=UTC)
    step = journey.apply(TimerDue())
    assert of(SendMessage, step) == []
    assert step.state.wake_at == datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
    assert counts(journey)[("sendsDeferred", None)] == 2


def test_an_opening_at_02_30_on_a_spring_forward_day_sends_at_03_00() -> None:
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    journey = windowed(SMS, at=saturday, days=["sun"], **{"from": "02:30", "to": "05:00"})
    wake = journey.state.wake_at
    assert wake == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wake is not None
    assert wake.astimezone(ZAGREB).strftime("%H:%M %Z") == "03:00 CEST"
    assert of(SendMessage, journey.until_wake())


def test_events_while_deferred_do_not_move_the_person() -> None:
    journey = windowed(SMS, AFTER)
    before = journey.state
    step = journey.event("Anything", x=1)
    assert step.state is before


def test_notify_ignores_the_window_it_writes_to_the_team() -> None:
    notify = {
        "id": "n",
        "type": "notify",
        "channel": "email",
        "to": '"team@example.com"',
        "from": "shop@example.com",
        "subject": "Lead",
        "html": "<b>!</b>",
    }
    journey = windowed(notify)
    assert len(of(Notify, journey)) == 1
    assert journey.state.phase is Phase.exited


CALL = {
    "id": "call",
    "type": "voice_call",
    "from": "+38512",
    "say": "Hello",
    "next": {"answered": "after", "notAnswered": "n"},
}
NOT_ANSWERED = {"id": "n", "type": "update_profile", "addTags": ["missed"]}


def test_a_voice_call_waits_for_the_window_and_a_dropped_one_is_not_answered() -> None:
    journey = windowed(CALL, AFTER, NOT_ANSWERED)
    assert journey.state.element == "call"
    assert journey.state.wake_at == MONDAY_9
    step = journey.until_wake()
    [call] = of(SendMessage, step)
    assert call.channel == "voice"
    assert step.state.local == {}  # now waiting for the call's result
    assert journey.apply(ResultArrived("call", "answered")).state.element == "after"
    dropped = windowed(CALL, AFTER, NOT_ANSWERED, outside="drop")
    assert "missed" in dropped.state.person.tags


FAILOVER = {
    "id": "fo",
    "type": "failover",
    "attempts": [
        {"type": "send_whatsapp", "from": "+38512", "text": "WA"},
        {"type": "send_sms", "from": "Shop", "text": "SMS"},
    ],
    "waitForDelivery": "PT2H",
    "next": {"delivered": "after", "failed": "n"},
}


def test_every_failover_attempt_keeps_the_window() -> None:
    friday_evening = datetime(2026, 1, 9, 17, 30, tzinfo=UTC)  # 18:30 in Zagreb
    journey = windowed(FAILOVER, AFTER, NOT_ANSWERED, at=friday_evening)
    [whatsapp] = of(SendMessage, journey)
    assert whatsapp.attempt == 0
    # No report within two hours: the SMS attempt would go at 20:30, so it waits.
    step = journey.until_wake()
    assert of(SendMessage, step) == []
    assert step.state.local == {"attempt": 1, "window": True}
    assert step.state.wake_at == MONDAY_9
    step = journey.until_wake()
    [sms] = of(SendMessage, step)
    assert (sms.channel, sms.attempt) == ("sms", 1)
    assert step.state.local == {"attempt": 1}
    dropped = windowed(FAILOVER, AFTER, NOT_ANSWERED, outside="drop")
    assert "missed" in dropped.state.person.tags
    assert traces(dropped, "outcome") == [("fo", "outcome", "failed: outside the send window")]


def test_a_late_report_while_an_attempt_waits_for_the_window() -> None:
    friday_evening = datetime(2026, 1, 9, 17, 30, tzinfo=UTC)
    journey = windowed(FAILOVER, AFTER, NOT_ANSWERED, at=friday_evening)
    waiting = journey.until_wake().state  # the SMS attempt waits for Monday
    late_failure = journey.apply(ResultArrived("fo", "failed"))
    assert late_failure.state is waiting
    late_delivery = journey.apply(ResultArrived("fo", "delivered"))
    assert late_delivery.state.element == "after"  # the WhatsApp message did arrive


def test_a_flow_without_a_window_compiles_none_and_the_cart_window_is_open_at_ten() -> None:
    journey = Journey(flow(SMS, AFTER))
    assert journey.program.send_window is None
    cart = Journey(CART)
    assert cart.program.send_window is not None
    cart.enter(cartValue=80)  # NOW is Monday 10:00 in Zagreb
    assert [m.channel for m in of(SendMessage, cart)] == ["sms"]
    assert NOW.weekday() == 0


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ({"days": []}, "at least one day"),
        ({"from": "9am"}, "is not a time of day"),
        ({"timezone": "Mars/Base"}, "is not a zone"),
    ],
)
def test_a_window_validation_refuses_compiles_leniently(
    window: dict[str, Any], problem: str
) -> None:
    doc = flow(SMS, settings={"sendWindow": {"days": WEEKDAYS, **window}})
    journey = Journey(doc)
    assert any(problem in p for p in journey.program.problems)
