"""`wait` (duration, until, at, across daylight saving time) and `wait_for_event`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.journey.helpers import ANA, NOW, Journey, counts, flow, traces, visited
from tidings.domain.journey import Phase, TimerDue
from tidings.domain.journey.clock import next_time_of_day

AFTER = {"id": "after", "type": "update_profile", "addTags": ["done"]}


def waiting(wait: dict[str, object], person: object = ANA, **fields: object) -> Journey:
    doc = flow({"id": "w", "type": "wait", **wait, "next": "after"}, AFTER, **fields)
    journey = Journey(doc, person)  # type: ignore[arg-type]
    journey.enter()
    return journey


def test_wait_for_a_duration() -> None:
    journey = waiting({"duration": "PT2H"})
    assert journey.state.phase is Phase.waiting
    assert journey.state.wake_at == NOW + timedelta(hours=2)
    assert traces(journey, "wait") == [("w", "wait", "until 2026-01-05T11:00:00Z")]
    step = journey.until_wake()
    assert visited(step) == ["after"]
    assert step.state.phase is Phase.exited


def test_wait_until_an_expression() -> None:
    journey = waiting(
        {"until": "dateAdd(start, 3, 'days')"},
        variables=[{"name": "start", "type": "datetime", "default": "now()"}],
    )
    assert journey.state.wake_at == NOW + timedelta(days=3)


@pytest.mark.parametrize(
    ("until", "why"),
    [
        ("datetime('2025-01-01T00:00:00Z')", "until is past: 2025-01-01T00:00:00Z"),
        ("null", "until gives no instant: null"),
        ("datetime(person.nothing)", "until gives no instant: datetime(person.nothing)"),
    ],
)
def test_a_wait_until_the_past_or_nothing_goes_straight_on(until: str, why: str) -> None:
    journey = waiting({"until": until})
    assert journey.state.phase is Phase.exited
    assert visited(journey) == ["w", "after"]
    assert traces(journey, "no wait") == [("w", "no wait", why)]


def test_at_uses_the_persons_zone_then_the_flows_then_the_accounts() -> None:
    # 09:00 UTC on Monday is 10:00 in Zagreb, 18:00 in Tokyo, 04:00 in New York.
    zagreb = waiting({"at": "09:00"})
    assert zagreb.state.wake_at == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
    nobody = ANA._replace(timezone=None)
    tokyo = waiting({"at": "20:00"}, nobody, timezone="Asia/Tokyo")
    assert tokyo.state.wake_at == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    by_attribute = ANA._replace(timezone=None, attributes={"timezone": "America/New_York"})
    new_york = waiting({"at": "05:00"}, by_attribute, timezone="Asia/Tokyo")
    assert new_york.state.wake_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    unknown = ANA._replace(timezone="Mars/Base")
    account = waiting({"at": "10:00"}, unknown)  # no flow zone: the account's, UTC
    assert account.state.wake_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_at_the_very_minute_waits_a_day() -> None:
    journey = waiting({"at": "09:00"}, ANA._replace(timezone="UTC"))
    assert journey.state.wake_at == NOW + timedelta(days=1)


ZAGREB = ZoneInfo("Europe/Zagreb")
AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("zone", "now", "at", "expected"),
    [
        # Zagreb springs forward on 2026-03-29, 02:00 CET -> 03:00 CEST: 02:30 does not
        # exist and is shifted forward by the gap, to 03:30 CEST (01:30 UTC).
        (ZAGREB, "2026-03-28T12:00:00Z", "02:30", "2026-03-29T01:30:00Z"),
        (ZAGREB, "2026-03-28T12:00:00Z", "09:00", "2026-03-29T07:00:00Z"),  # CEST now
        (ZAGREB, "2026-03-27T12:00:00Z", "09:00", "2026-03-28T08:00:00Z"),  # CET still
        # Zagreb falls back on 2026-10-25, 03:00 CEST -> 02:00 CET: 02:30 happens twice;
        # the first one counts.
        (ZAGREB, "2026-10-24T12:00:00Z", "02:30", "2026-10-25T00:30:00Z"),
        (ZAGREB, "2026-10-25T00:45:00Z", "02:30", "2026-10-26T01:30:00Z"),  # once a day
        # Auckland springs forward on 2026-09-27, 02:00 NZST -> 03:00 NZDT.
        (AUCKLAND, "2026-09-26T00:00:00Z", "02:30", "2026-09-26T14:30:00Z"),
        (AUCKLAND, "2026-09-26T00:00:00Z", "09:00", "2026-09-26T20:00:00Z"),  # NZDT +13
        # ... and falls back on 2026-04-05, 03:00 NZDT -> 02:00 NZST.
        (AUCKLAND, "2026-04-04T00:00:00Z", "02:30", "2026-04-04T13:30:00Z"),
        (AUCKLAND, "2026-04-04T00:00:00Z", "09:00", "2026-04-04T21:00:00Z"),  # NZST +12
    ],
)
def test_at_across_daylight_saving_time(zone: ZoneInfo, now: str, at: str, expected: str) -> None:
    hours, minutes = map(int, at.split(":"))
    start = datetime.fromisoformat(now)
    assert next_time_of_day(start, time(hours, minutes), zone) == datetime.fromisoformat(expected)


def test_a_wait_at_a_missing_time_through_the_step_function() -> None:
    person = ANA._replace(timezone="Europe/Zagreb")
    doc = flow({"id": "w", "type": "wait", "at": "02:30"})
    journey = Journey(doc, person)
    journey.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    journey.enter()
    assert journey.state.wake_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


TOMORROW_9 = "datetime(concat(date(dateAdd(now(), 1, 'days')), 'T09:00'))"


@pytest.mark.parametrize(
    ("zone", "until", "expected"),
    [
        # Saturday 2026-03-28 12:00 UTC; Zagreb springs forward that night, Auckland
        # (already Sunday 01:00 NZDT) is a week from falling back; the flow is New York's.
        ("Europe/Zagreb", TOMORROW_9, "2026-03-29T07:00:00Z"),  # 09:00 CEST
        ("Pacific/Auckland", TOMORROW_9, "2026-03-29T20:00:00Z"),  # Monday 09:00 NZDT
        (None, TOMORROW_9, "2026-03-29T13:00:00Z"),  # the flow's zone: 09:00 EDT
        # A wall time the person's clocks skip moves on by the gap: 02:30 -> 03:30 CEST.
        ("Europe/Zagreb", "datetime(person.appointment)", "2026-03-29T01:30:00Z"),
        ("Pacific/Auckland", "datetime(person.appointment)", "2026-03-28T13:30:00Z"),
        # An instant with its offset is that instant in every zone.
        ("Pacific/Auckland", "datetime('2026-03-29T09:00:00+02:00')", "2026-03-29T07:00:00Z"),
    ],
)
def test_until_reads_the_persons_wall_clock(zone: str | None, until: str, expected: str) -> None:
    attributes = {**ANA.attributes, "appointment": "2026-03-29T02:30"}
    person = ANA._replace(timezone=zone, attributes=attributes)
    doc = flow({"id": "w", "type": "wait", "until": until}, timezone="America/New_York")
    journey = Journey(doc, person)
    journey.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    journey.enter()
    assert journey.state.wake_at == datetime.fromisoformat(expected)


@settings(max_examples=300)
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2035, 1, 1),
        timezones=st.just(UTC),
    ),
    st.sampled_from([ZAGREB, AUCKLAND, ZoneInfo("America/New_York"), ZoneInfo("UTC")]),
    st.times(),
)
def test_at_is_the_next_such_wall_clock_time(now: datetime, zone: ZoneInfo, at: time) -> None:
    at = at.replace(second=0, microsecond=0)
    wake = next_time_of_day(now, at, zone)
    assert now < wake <= now + timedelta(hours=25)
    local = wake.astimezone(zone)
    wanted = datetime.combine(local.date(), at, tzinfo=zone)
    if local.time() != at:
        # Only a time the clocks skipped lands elsewhere: shifted forward by the gap.
        assert wanted.astimezone(UTC).astimezone(zone).time() != at
        assert local.time() > at
    # It is the next one: the day before's was not after now.
    before = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    assert before.astimezone(UTC) <= now


# --- wait_for_event ---------------------------------------------------------------------


def for_event(**wait: object) -> dict[str, object]:
    return flow(
        {"id": "sms1", "type": "send_sms", "from": "S", "text": "Hi", "next": "w"},
        {
            "id": "w",
            "type": "wait_for_event",
            "timeout": "PT6H",
            **wait,
            "next": {"event": "yes", "timeout": "no"},
        },
        {"id": "yes", "type": "update_profile", "addTags": ["yes"]},
        {"id": "no", "type": "update_profile", "addTags": ["no"]},
        variables=[{"name": "amount", "type": "decimal"}, {"name": "url", "type": "text"}],
    )


def test_wait_for_event_with_where_and_assign() -> None:
    journey = Journey(
        for_event(event="Bought", where="event.amount >= 10.0", assign={"amount": "event.amount"})
    )
    journey.enter()
    assert journey.state.waiting_for == "Bought"
    assert journey.state.wake_at == NOW + timedelta(hours=6)
    small = journey.event("Bought", amount=5)
    assert small.state.phase is Phase.waiting
    assert traces(small) == [("w", "event ignored", "Bought: not event.amount >= 10.0")]
    step = journey.event("Bought", amount=12.5)
    assert visited(step) == ["yes"]
    assert step.state.variables["amount"] == 12.5
    assert traces(step, "outcome") == [("w", "outcome", "event Bought")]


def test_wait_for_event_times_out() -> None:
    journey = Journey(for_event(event="Bought"))
    journey.enter()
    step = journey.until_wake()
    assert visited(step) == ["no"]
    assert traces(step, "outcome") == [("w", "outcome", "timeout")]
    assert counts(step)[("totalEngagements", "no")] == 1


def test_wait_for_a_send_elements_message_events() -> None:
    journey = Journey(for_event(element="sms1", assign={"url": "event.url"}))
    journey.enter()
    assert (journey.state.waiting_for, journey.state.waiting_element) == (None, "sms1")
    other_flow = journey.event("message.clicked", flow=8, version=1, element="sms1")
    assert other_flow.state.phase is Phase.waiting
    step = journey.message_event("clicked", "sms1", url="https://shop.example.com")
    assert visited(step) == ["yes"]
    assert step.state.variables["url"] == "https://shop.example.com"
    assert step.state.message_events == {("sms1", "clicked")}


def test_wait_for_one_kind_of_message_event() -> None:
    journey = Journey(for_event(element="sms1", event="message.clicked"))
    journey.enter()
    delivered = journey.message_event("delivered", "sms1")
    assert delivered.state.phase is Phase.waiting
    assert delivered.state.message_events == {("sms1", "delivered")}
    assert visited(journey.message_event("clicked", "sms1")) == ["yes"]


def test_a_timer_for_an_event_wait_without_timeout_never_comes() -> None:
    doc = flow({"id": "w", "type": "wait_for_event", "event": "Bought"})
    journey = Journey(doc)
    journey.enter()
    assert journey.state.wake_at is None
    before = journey.state
    assert journey.apply(TimerDue()).state is before


def test_the_program_knows_the_event_each_element_holds_people_for() -> None:
    # the store keeps `waiting_for` NULL when it is this (engine/programs.py)
    named = Journey(for_event(event="Bought")).program
    assert [named.awaited(e) for e in ("w", "yes", "nowhere", None)] == ["Bought", None, None, None]
    messages = Journey(for_event(element="sms1", event="message.clicked")).program
    assert messages.awaited("w") == "message.clicked"
    assert Journey(for_event(element="sms1")).program.awaited("w") is None
