"""Send windows on the wall clock: days, hours, overnight spans and the days clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.send_windows import DAY_NAMES, Window, is_open, next_opening, window_of

ZAGREB = ZoneInfo("Europe/Zagreb")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
OFFICE = window_of(WEEKDAYS, "09:00", "20:00")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("days", "start", "end", "message"),
    [
        ([], "09:00", "20:00", "at least one day"),
        (["monday"], "09:00", "20:00", "is not a day"),
        (["mon"], "9:00", "20:00", "is not a time of day"),
        (["mon"], "24:00", "20:00", "is not a time of day"),
        (["mon"], "09:00", "25:00", "is not a time of day"),
        (["mon"], "09:00", "09:00", "same time"),
    ],
)
def test_a_window_that_is_not_one_says_why(
    days: list[str], start: str, end: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        window_of(days, start, end)


def test_days_and_hours_with_the_end_excluded() -> None:
    # 2026-01-05 is a Monday; Zagreb is UTC+1 in January.
    assert not is_open(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 5, 8, 59))
    assert is_open(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 5, 9, 0))
    assert is_open(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 5, 19, 59, 59))
    assert not is_open(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 5, 20, 0))
    assert not is_open(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 10, 12, 0))  # Saturday
    # The same instant in another zone: 08:30 UTC is 09:30 in Zagreb, 03:30 in New York.
    assert is_open(OFFICE, ZAGREB, utc(2026, 1, 5, 8, 30))
    assert not is_open(OFFICE, NEW_YORK, utc(2026, 1, 5, 8, 30))


def test_24_00_is_the_midnight_that_ends_the_day() -> None:
    evening = window_of(["mon"], "18:00", "24:00")
    assert not evening.overnight
    assert is_open(evening, ZAGREB, local(ZAGREB, 2026, 1, 5, 23, 59))
    assert not is_open(evening, ZAGREB, local(ZAGREB, 2026, 1, 6, 0, 0))
    whole = window_of(["sat", "sun"], "00:00", "24:00")
    assert is_open(whole, ZAGREB, local(ZAGREB, 2026, 1, 10, 0, 0))
    assert not is_open(whole, ZAGREB, local(ZAGREB, 2026, 1, 12, 0, 0))


def test_an_overnight_span_belongs_to_the_day_it_starts_on() -> None:
    night = window_of(["fri"], "22:00", "06:00")
    assert night.overnight
    assert is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 9, 23, 0))  # Friday night
    assert is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 10, 5, 59))  # Saturday early
    assert not is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 10, 6, 0))
    assert not is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 9, 5, 0))  # Thursday's night
    assert not is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 10, 23, 0))  # Saturday night
    assert night.describe() == "fri 22:00-06:00"


def test_next_opening_is_now_inside_and_the_next_start_outside() -> None:
    inside = local(ZAGREB, 2026, 1, 5, 12, 0)
    assert next_opening(OFFICE, ZAGREB, inside) == inside
    evening = local(ZAGREB, 2026, 1, 5, 20, 0)
    assert next_opening(OFFICE, ZAGREB, evening) == local(ZAGREB, 2026, 1, 6, 9, 0)
    early = local(ZAGREB, 2026, 1, 6, 3, 0)
    assert next_opening(OFFICE, ZAGREB, early) == local(ZAGREB, 2026, 1, 6, 9, 0)


def test_the_weekend_waits_for_monday() -> None:
    friday_evening = local(ZAGREB, 2026, 1, 9, 20, 30)
    monday = local(ZAGREB, 2026, 1, 12, 9, 0)
    assert next_opening(OFFICE, ZAGREB, friday_evening) == monday
    assert next_opening(OFFICE, ZAGREB, local(ZAGREB, 2026, 1, 11, 23, 59)) == monday
    opening = next_opening(OFFICE, ZAGREB, friday_evening)
    assert opening is not None
    assert opening.tzinfo is UTC


def test_an_opening_at_02_30_on_a_spring_forward_day_opens_at_03_00() -> None:
    # 2026-03-29: Zagreb's clocks jump from 02:00 to 03:00 (01:00 UTC).
    night = window_of(["sun"], "02:30", "05:00")
    opening = next_opening(night, ZAGREB, local(ZAGREB, 2026, 3, 28, 12, 0))
    assert opening == utc(2026, 3, 29, 1, 0)
    assert opening.astimezone(ZAGREB).strftime("%H:%M") == "03:00"
    # A week later nothing is skipped: 02:30 is 02:30.
    after = next_opening(night, ZAGREB, utc(2026, 3, 29, 3, 0))
    assert after == local(ZAGREB, 2026, 4, 5, 2, 30)


def test_a_window_wholly_inside_the_skipped_hour_does_not_open_that_day() -> None:
    lost = window_of(["sun"], "02:10", "02:50")
    opening = next_opening(lost, ZAGREB, local(ZAGREB, 2026, 3, 28, 12, 0))
    assert opening == local(ZAGREB, 2026, 4, 5, 2, 10)


def test_a_window_that_opens_after_the_jump_keeps_its_time() -> None:
    morning = window_of(["sun"], "09:00", "12:00")
    opening = next_opening(morning, ZAGREB, local(ZAGREB, 2026, 3, 29, 0, 30))
    assert opening == utc(2026, 3, 29, 7, 0)  # 09:00 CEST


def test_a_time_the_clock_shows_twice_is_inside_both_times() -> None:
    # 2026-10-25: Zagreb's clocks go back from 03:00 to 02:00 (01:00 UTC).
    twice = window_of(["sun"], "02:00", "02:30")
    first = local(ZAGREB, 2026, 10, 25, 2, 15)
    second = local(ZAGREB, 2026, 10, 25, 2, 15, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert is_open(twice, ZAGREB, first)
    assert is_open(twice, ZAGREB, second)
    # Between the two: 02:30-02:59 summer time is closed, and 02:00 winter time reopens.
    between = utc(2026, 10, 25, 0, 45)
    assert not is_open(twice, ZAGREB, between)
    assert next_opening(twice, ZAGREB, between) == utc(2026, 10, 25, 1, 0)
    assert next_opening(twice, ZAGREB, local(ZAGREB, 2026, 10, 24, 12, 0)) == utc(
        2026, 10, 25, 0, 0
    )


def test_auckland_springs_forward_in_september() -> None:
    # 2026-09-27: Auckland jumps from 02:00 to 03:00 (NZST +12 -> NZDT +13).
    night = window_of(["sun"], "02:30", "05:00")
    opening = next_opening(night, AUCKLAND, local(AUCKLAND, 2026, 9, 26, 12, 0))
    assert opening is not None
    assert opening.astimezone(AUCKLAND).replace(tzinfo=None) == datetime(2026, 9, 27, 3, 0)
    assert opening == utc(2026, 9, 26, 14, 0)


def test_an_overnight_window_reopens_in_the_evening() -> None:
    night = window_of(WEEKDAYS, "21:00", "07:00")
    noon = local(ZAGREB, 2026, 1, 6, 12, 0)  # Tuesday
    assert next_opening(night, ZAGREB, noon) == local(ZAGREB, 2026, 1, 6, 21, 0)
    # Saturday 06:00 is Friday's night; Saturday noon waits for Monday 21:00.
    assert is_open(night, ZAGREB, local(ZAGREB, 2026, 1, 10, 6, 0))
    saturday = local(ZAGREB, 2026, 1, 10, 12, 0)
    assert next_opening(night, ZAGREB, saturday) == local(ZAGREB, 2026, 1, 12, 21, 0)


# --- properties ---------------------------------------------------------------------------

ZONES = [ZAGREB, AUCKLAND, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")]
# Instants near every clock change of 2026 in these zones, and ordinary ones.
NEAR = [
    utc(2026, 3, 29, 1, 0),
    utc(2026, 10, 25, 1, 0),
    utc(2026, 9, 26, 14, 0),
    utc(2026, 4, 4, 14, 0),
    utc(2026, 3, 8, 7, 0),
    utc(2026, 11, 1, 6, 0),
    utc(2026, 1, 5, 0, 0),
    utc(2026, 6, 15, 12, 0),
]


@st.composite
def windows(draw: st.DrawFn) -> Window:
    days = draw(st.sets(st.sampled_from(DAY_NAMES), min_size=1))
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(1, 24 * 60).filter(lambda m: m != start))
    return window_of(
        sorted(days), f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"
    )


def _brute_force(window: Window, zone: ZoneInfo, now: datetime) -> datetime:
    """The first open instant at or after `now`, minute by minute (openings fall on whole
    minutes: starts and clock changes)."""
    if is_open(window, zone, now):
        return now
    at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while not is_open(window, zone, at):
        at += timedelta(minutes=1)
    return at


@settings(max_examples=60, deadline=None)
@given(
    window=windows(),
    zone=st.sampled_from(ZONES),
    near=st.sampled_from(NEAR),
    shift=st.integers(-3 * 24 * 60, 3 * 24 * 60),
    seconds=st.integers(0, 59),
)
def test_next_opening_is_the_first_open_instant(
    window: Window, zone: ZoneInfo, near: datetime, shift: int, seconds: int
) -> None:
    now = near + timedelta(minutes=shift, seconds=seconds)
    opening = next_opening(window, zone, now)
    assert opening is not None
    assert opening >= now
    assert is_open(window, zone, opening)
    assert opening == _brute_force(window, zone, now)


@settings(max_examples=200, deadline=None)
@given(window=windows(), instant=st.datetimes(timezones=st.just(UTC)))
def test_open_means_inside_the_span_on_a_listed_day(window: Window, instant: datetime) -> None:
    wall = instant.astimezone(ZAGREB)
    minute = wall.hour * 60 + wall.minute
    day = wall.weekday()
    if window.overnight:
        expected = (day in window.days and minute >= window.start) or (
            (day - 1) % 7 in window.days and minute < window.end
        )
    else:
        expected = day in window.days and window.start <= minute < window.end
    assert is_open(window, ZAGREB, instant) is expected
