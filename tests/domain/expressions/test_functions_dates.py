"""Date functions: now() in UTC, everything else on the account's wall clock, through
midnight and daylight-saving changes in Zagreb and Auckland."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from tidings.domain.expressions import compile_expression

from .helpers import SCOPE, V, error, ev

ZAGREB = "Europe/Zagreb"  # UTC+1, summer UTC+2 from 2026-03-29 01:00Z
AUCKLAND = "Pacific/Auckland"  # UTC+13 in January, UTC+12 from 2026-04-04 14:00Z


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_now_is_utc_whatever_the_zone() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    assert ev("now()", now=now, timezone=AUCKLAND) == "2026-01-05T07:00:00Z"
    assert compile_expression("now()", SCOPE).type == V.datetime


@pytest.mark.parametrize(
    ("now", "zone", "today"),
    [
        ("2026-01-05T22:59:59Z", ZAGREB, "2026-01-05"),
        ("2026-01-05T23:00:00Z", ZAGREB, "2026-01-06"),
        ("2026-01-05T10:59:59Z", AUCKLAND, "2026-01-05"),
        ("2026-01-05T11:00:00Z", AUCKLAND, "2026-01-06"),
        ("2026-01-05T11:30:00Z", ZAGREB, "2026-01-05"),
        ("2026-01-05T11:30:00Z", AUCKLAND, "2026-01-06"),
        ("2026-01-05T11:30:00Z", "UTC", "2026-01-05"),
        ("2026-06-30T21:59:00Z", ZAGREB, "2026-06-30"),  # summer time: midnight is 22:00Z
        ("2026-06-30T22:00:00Z", ZAGREB, "2026-07-01"),
        ("2026-06-30T11:59:00Z", AUCKLAND, "2026-06-30"),  # NZ winter: UTC+12
        ("2026-06-30T12:00:00Z", AUCKLAND, "2026-07-01"),
    ],
)
def test_today_is_the_date_in_the_account_zone(now: str, zone: str, today: str) -> None:
    assert ev("today()", now=at(now), timezone=zone) == today


@pytest.mark.parametrize(
    ("zone", "values"),
    [
        (ZAGREB, {"hour": 12, "minute": 30, "day": 5, "weekday": 1, "month": 1, "year": 2026}),
        (AUCKLAND, {"hour": 0, "minute": 30, "day": 6, "weekday": 2, "month": 1, "year": 2026}),
    ],
)
def test_parts_of_now_are_read_on_the_local_clock(zone: str, values: dict[str, int]) -> None:
    now = at("2026-01-05T11:30:00Z")
    for part, value in values.items():
        assert ev(f"{part}(now())", now=now, timezone=zone) == value


def test_parts_of_dates() -> None:
    assert ev("year(due)") == 2026
    assert ev("month(due)") == 1
    assert ev("day(due)") == 31
    assert ev('weekday(date("2026-01-11"))') == 7  # Sunday
    assert ev("year(person.birthDate)", person={}) is None
    assert error("hour(due)").message == "argument 1 of hour must be a datetime, not date"


@pytest.mark.parametrize(
    ("source", "zone", "value"),
    [
        # One calendar day keeps the wall-clock time across spring-forward: 23 hours.
        ('dateAdd(datetime("2026-03-28T09:00:00Z"), 1, "days")', ZAGREB, "2026-03-29T08:00:00Z"),
        ('dateAdd(datetime("2026-03-28T09:00:00Z"), 24, "hours")', ZAGREB, "2026-03-29T09:00:00Z"),
        ('dateAdd(datetime("2026-03-28T09:00:00Z"), 1, "day")', "UTC", "2026-03-29T09:00:00Z"),
        # Auckland's autumn change (first Sunday of April): one day is 25 hours.
        ('dateAdd(datetime("2026-04-04T09:00:00Z"), 1, "days")', AUCKLAND, "2026-04-05T10:00:00Z"),
        ('dateAdd(datetime("2026-04-04T09:00:00Z"), 1, "weeks")', AUCKLAND, "2026-04-11T10:00:00Z"),
        (
            'dateAdd(datetime("2026-03-29T00:30:00Z"), 90, "minutes")',
            ZAGREB,
            "2026-03-29T02:00:00Z",
        ),
        (
            'dateAdd(datetime("2026-01-05T10:00:00Z"), 30, "seconds")',
            ZAGREB,
            "2026-01-05T10:00:30Z",
        ),
        ('dateAdd(datetime("2026-01-05T10:00:00Z"), 1.5, "hours")', ZAGREB, "2026-01-05T11:30:00Z"),
        ('dateAdd(datetime("2026-01-05T10:00:00Z"), -2, "days")', ZAGREB, "2026-01-03T10:00:00Z"),
        ('dateAdd(datetime("2026-01-31T10:00:00Z"), 1, "months")', ZAGREB, "2026-02-28T10:00:00Z"),
        ('dateAdd(datetime("2026-02-28T10:00:00Z"), 1, "months")', ZAGREB, "2026-03-28T10:00:00Z"),
        ('dateAdd(datetime("2026-03-01T10:00:00Z"), 1, "months")', ZAGREB, "2026-04-01T09:00:00Z"),
        ('dateAdd(date("2026-01-31"), 1, "months")', ZAGREB, "2026-02-28"),
        ('dateAdd(date("2028-01-31"), 1, "months")', ZAGREB, "2028-02-29"),
        ('dateAdd(date("2028-02-29"), 1, "years")', ZAGREB, "2029-02-28"),
        ('dateAdd(date("2026-01-31"), -13, "months")', ZAGREB, "2024-12-31"),
        ('dateAdd(date("2026-01-31"), 2, "weeks")', ZAGREB, "2026-02-14"),
        ('dateAdd(date("2026-01-31"), 1.5, "days")', ZAGREB, None),
        ('dateAdd(date("2026-01-31"), 1.5, "months")', ZAGREB, None),
        ('dateAdd(date("2026-01-31"), 2.0, "months")', ZAGREB, "2026-03-31"),
        ('dateAdd(date("9999-12-31"), 1, "days")', ZAGREB, None),
        ('dateAdd(today(), 100000000, "days")', ZAGREB, None),
        ("dateAdd(due, 1, label)", ZAGREB, None),  # "gold" is no unit
        ("dateAdd(due, 1, person.firstName)", ZAGREB, None),
    ],
)
def test_date_add(source: str, zone: str, value: Any) -> None:
    assert ev(source, timezone=zone) == value


def test_date_add_keeps_the_type_of_its_first_argument() -> None:
    assert compile_expression('dateAdd(due, 1, "days")', SCOPE).type == V.date
    assert compile_expression('dateAdd(sentAt, 1, "days")', SCOPE).type == V.datetime


@pytest.mark.parametrize(
    ("start", "end", "unit", "zone", "value"),
    [
        ('datetime("2026-03-28T09:00:00Z")', 'datetime("2026-03-29T08:00:00Z")', "days", ZAGREB, 1),
        (
            'datetime("2026-03-28T09:00:00Z")',
            'datetime("2026-03-29T08:00:00Z")',
            "hours",
            ZAGREB,
            23,
        ),
        ('datetime("2026-03-28T09:00:00Z")', 'datetime("2026-03-29T08:00:00Z")', "days", "UTC", 0),
        (
            'datetime("2026-01-05T10:00:00Z")',
            'datetime("2026-01-05T09:00:01Z")',
            "hours",
            ZAGREB,
            0,
        ),
        (
            'datetime("2026-01-05T10:00:00Z")',
            'datetime("2026-01-05T07:59:00Z")',
            "hours",
            ZAGREB,
            -2,
        ),
        (
            'datetime("2026-01-05T10:00:00Z")',
            'datetime("2026-01-05T10:45:00Z")',
            "minutes",
            ZAGREB,
            45,
        ),
        (
            'datetime("2026-01-05T10:00:00Z")',
            'datetime("2026-01-05T10:00:59Z")',
            "seconds",
            ZAGREB,
            59,
        ),
        ('date("2026-01-01")', 'date("2026-01-15")', "weeks", ZAGREB, 2),
        ('date("2026-01-31")', 'date("2026-02-28")', "months", ZAGREB, 1),
        ('date("2026-01-15")', 'date("2026-02-14")', "months", ZAGREB, 0),
        ('date("2026-03-01")', 'date("2026-01-15")', "months", ZAGREB, -1),
        ('date("1990-05-01")', 'date("2026-04-30")', "years", ZAGREB, 35),
        ('date("1990-05-01")', 'date("2026-05-01")', "years", ZAGREB, 36),
        ('date("2026-05-01")', 'date("1990-05-02")', "years", ZAGREB, -35),
        # a date against a datetime: the date is midnight on the account's wall clock
        ('date("2026-01-05")', 'datetime("2026-01-05T10:30:00Z")', "hours", ZAGREB, 11),
        ('date("2026-01-05")', 'datetime("2026-01-05T10:30:00Z")', "hours", AUCKLAND, 23),
        ('date("2026-01-05")', 'date("2026-01-06")', "hours", ZAGREB, 24),
        ('date("2026-03-29")', 'date("2026-03-30")', "hours", ZAGREB, 23),
    ],
)
def test_date_diff(start: str, end: str, unit: str, zone: str, value: int) -> None:
    source = f'dateDiff({start}, {end}, "{unit}")'
    assert compile_expression(source, SCOPE).type == V.integer
    assert ev(source, timezone=zone) == value


def test_date_diff_of_orders_delayed_for_three_days() -> None:
    late = 'dateDiff(event.at, now(), "days") >= 3'
    assert ev(late, expect=V.boolean, now=at("2026-01-08T09:59:00Z")) is False
    assert ev(late, expect=V.boolean, now=at("2026-01-08T10:00:00Z")) is True


@pytest.mark.parametrize(
    ("source", "zone", "value"),
    [
        ('date("2026-01-31")', ZAGREB, "2026-01-31"),
        ('date("2026-01-31T23:30:00Z")', ZAGREB, "2026-02-01"),
        ('date("2026-01-31T23:30:00Z")', "UTC", "2026-01-31"),
        ('date("2026-01-31T10:00:00")', AUCKLAND, "2026-01-31"),
        ("date(sentAt)", AUCKLAND, "2026-01-05"),
        ("date(due)", ZAGREB, "2026-01-31"),
        ('date("31/01/2026")', ZAGREB, None),
        ('date("2026-02-30")', ZAGREB, None),
        ('date("")', ZAGREB, None),
        ('datetime("2026-01-31T10:00:00+01:00")', AUCKLAND, "2026-01-31T09:00:00Z"),
        ('datetime("2026-01-31T10:00:00")', ZAGREB, "2026-01-31T09:00:00Z"),
        ('datetime("2026-01-31T10:00:00")', AUCKLAND, "2026-01-30T21:00:00Z"),
        ('datetime("2026-01-31")', ZAGREB, "2026-01-30T23:00:00Z"),
        ('datetime("2026-01-31T10:00:00.250Z")', ZAGREB, "2026-01-31T10:00:00.250Z"),
        ("datetime(due)", ZAGREB, "2026-01-30T23:00:00Z"),
        # A wall time skipped by spring-forward moves on by the gap; an autumn one is the first
        ('datetime("2026-03-29T02:30:00")', ZAGREB, "2026-03-29T01:30:00Z"),
        ('datetime("2026-10-25T02:30:00")', ZAGREB, "2026-10-25T00:30:00Z"),
        ('datetime("not a time")', ZAGREB, None),
    ],
)
def test_date_and_datetime_conversions(source: str, zone: str, value: Any) -> None:
    assert ev(source, timezone=zone) == value


def test_bad_account_zone_gives_null() -> None:
    assert ev("today()", timezone="Mars/Olympus") is None
    assert ev("today() == today()", expect=V.boolean, timezone="Mars/Olympus") is False


def test_datetime_values_may_be_datetime_objects() -> None:
    sent = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    variables = {"sentAt": sent, "due": date(2026, 2, 1)}
    assert ev("sentAt", variables=variables) == "2026-01-05T09:00:00Z"
    assert ev("due", variables=variables) == "2026-02-01"
    assert ev('dateAdd(sentAt, 1, "hours")', variables=variables) == "2026-01-05T10:00:00Z"


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ('dateAdd(due, 1, "fortnights")', 16, "unknown unit 'fortnights': use \"seconds\""),
        ('dateAdd(due, 1, "hours")', 16, "a date has no time of day"),
        ('dateAdd(label, 1, "days")', 8, "must be a date or a datetime, not text"),
        ('dateAdd(due, "1", "days")', 13, "argument 2 of dateAdd must be a number"),
        ("dateAdd(due, 1, 2)", 16, "a unit such as"),
        ('dateDiff(due, 5, "days")', 14, "argument 2 of dateDiff"),
        ('dateDiff(due, due, "eons")', 19, "unknown unit"),
        ("date(5)", 5, "a text or a date"),
        ("today(1)", 0, "today takes 0 arguments"),
    ],
)
def test_argument_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


def test_a_naive_now_is_taken_as_utc_not_server_time() -> None:
    naive = datetime(2026, 1, 5, 23, 30)
    assert ev("now()", now=naive) == "2026-01-05T23:30:00Z"
    assert ev("today()", now=naive, timezone=ZAGREB) == "2026-01-06"


@pytest.mark.parametrize(
    ("source", "zone", "value"),
    [
        ('formatDate(now(), "dd.MM.yyyy HH:mm")', ZAGREB, "05.01.2026 11:30"),
        ('formatDate(now(), "dd.MM.yyyy HH:mm")', AUCKLAND, "05.01.2026 23:30"),
        ("formatDate(now(), \"yyyy-MM-dd'T'HH:mm:ss\")", "UTC", "2026-01-05T10:30:00"),
        (
            "formatDate(now(), \"EEEE, d MMMM yyyy 'at' h:mm a\")",
            ZAGREB,
            "Monday, 5 January 2026 at 11:30 AM",
        ),
        ('formatDate(now(), "EEE d MMM yy")', AUCKLAND, "Mon 5 Jan 26"),
        ('formatDate(now(), "hh a")', "UTC", "10 AM"),
        ('formatDate(dateAdd(now(), 2, "hours"), "h a")', "UTC", "12 PM"),
        ('formatDate(dateAdd(now(), 14, "hours"), "h a")', "UTC", "12 AM"),
        ('formatDate(due, "d.M.yyyy")', ZAGREB, "31.1.2026"),
        ("formatDate(due, \"'Order of' d MMMM 'it''s'\")", ZAGREB, "Order of 31 January it's"),
        ('formatDate(person.birthDate, "dd/MM")', ZAGREB, "01/05"),
        ("formatDate(sentAt, label)", ZAGREB, None),  # "gold": unknown letters at run time
        ('formatDate(null, "yyyy")', ZAGREB, None),
    ],
)
def test_format_date_reads_the_account_clock(source: str, zone: str, value: Any) -> None:
    assert ev(source, timezone=zone) == value


def test_format_date_checks_a_written_pattern() -> None:
    assert "unknown date pattern 'Q'" in error('formatDate(now(), "Q yyyy")').message
    assert "quote" in error('formatDate(now(), "yyyy \'x")').message
    problem = error('formatDate(today(), "dd.MM. HH:mm")')
    assert "a date has no time of day" in problem.message
    assert problem.position == len("formatDate(today(), ")
    assert "must be a date or a datetime" in error('formatDate("2026-01-01", "yyyy")').message
    assert compile_expression('formatDate(now(), "yyyy")', SCOPE).type == V.text


def test_second_of_a_datetime() -> None:
    assert ev('second(datetime("2026-01-05T10:30:07Z"))') == 7
    assert "a datetime" in error("second(today())").message
