"""Wall-clock arithmetic for waits: time zones by name, the person's zone, and "the next
09:00" in a zone.

Daylight saving time follows the rule calendars use (RFC 5545, and Temporal's
"compatible" disambiguation): a time of day that does not exist on a spring-forward day
(02:30 when clocks jump from 02:00 to 03:00) is shifted forward by the gap, to 03:30;
a time that happens twice on a fall-back day is taken at its first occurrence. A wait
"at" a time of day fires at most once per local day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tidings.domain.flows.base import HHMM_RE
from tidings.domain.journey.types import Person


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo | None:
    """The IANA zone `name`, or None when there is no such zone (or no name)."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def first_zone(*names: str | None) -> tzinfo:
    """The first of `names` that is a known zone; UTC when none is."""
    for name in names:
        found = zone(name)
        if found is not None:
            return found
    return UTC


def person_zone_name(person: Person, fallback: str) -> str:
    """The person's zone: the profile's `timezone`, else a `timezone` attribute, when it
    names a known zone; else `fallback` (the flow's zone, which falls back to the
    account's). Waits (`at`, `until`) and send windows read the person's wall clock."""
    if zone(person.timezone) is not None:
        return person.timezone  # type: ignore[return-value]
    attribute = person.attributes.get("timezone")
    if isinstance(attribute, str) and zone(attribute) is not None:
        return attribute
    return fallback


def time_of_day(text: str | None) -> time | None:
    """`"09:00"` as a time; None unless it is HH:MM on a 24-hour clock."""
    if text is None or not HHMM_RE.match(text):
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def next_time_of_day(now: datetime, at: time, where: tzinfo) -> datetime:
    """The first instant after `now` whose wall clock in `where` reads `at` (see the
    module docstring for days when clocks change), in UTC."""
    day = now.astimezone(where).date()
    # fold=0 (whatever `at` came with): the earlier offset, which shifts a missing time
    # forward by the gap and picks the first of a repeated one.
    at = at.replace(fold=0)
    while True:
        instant = datetime.combine(day, at, tzinfo=where).astimezone(UTC)
        if instant > now:
            return instant
        day += timedelta(days=1)
