"""Calendar arithmetic in the account's time zone: the rules behind dateAdd and dateDiff.

Hours, minutes and seconds are elapsed time. Days, weeks, months and years are
calendar steps on the wall clock of the account's zone, so that adding one day to
09:00 gives 09:00 the next day even across a daylight-saving change (23 or 25 hours
later). A wall time that a change skips (02:30 on a spring-forward night) moves forward
by the gap; an ambiguous one (autumn) means the first of the two. Adding months clamps
to the end of the month: 31 January + 1 month = 28 or 29 February.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

SUB_DAY: Final = {"seconds": 1, "minutes": 60, "hours": 3600}
UNIT_ORDER: Final = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
UNITS: Final = frozenset(UNIT_ORDER)
_SINGULAR: Final = {unit[:-1]: unit for unit in UNITS}
_MICROS_PER_SECOND = 1_000_000
_DAY_MICROS = 86_400 * _MICROS_PER_SECOND


def unit_named(text: str) -> str | None:
    """A unit's canonical (plural) name; "day" and "days" both mean days."""
    if text in UNITS:
        return text
    return _SINGULAR.get(text)


def local_time(value: datetime, zone: tzinfo) -> datetime:
    """The naive wall-clock time of an instant in `zone`."""
    return value.astimezone(zone).replace(tzinfo=None)


def from_local(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time in `zone` (gaps move forward, folds take the first)."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def wall_midnight(day: date) -> datetime:
    """The naive wall-clock start of `day`."""
    return datetime.combine(day, time())


def midnight(day: date, zone: tzinfo) -> datetime:
    return from_local(wall_midnight(day), zone)


def add_months(wall: datetime, months: int) -> datetime:
    index = wall.year * 12 + wall.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return wall.replace(year=year, month=month + 1, day=min(wall.day, last))


def add(value: date, amount: int | float, unit: str, zone: tzinfo) -> date | None:
    """`value` (a date or an aware datetime) moved by `amount` units; None if impossible."""
    try:
        return _add(value, amount, unit, zone)
    except (OverflowError, ValueError):  # beyond year 1 or 9999
        return None


def _add(value: date, amount: int | float, unit: str, zone: tzinfo) -> date | None:
    if unit in SUB_DAY:
        if not isinstance(value, datetime):
            return None
        return value + timedelta(seconds=amount * SUB_DAY[unit])
    if unit in ("months", "years"):
        if isinstance(amount, float):
            if not amount.is_integer():
                return None
            amount = int(amount)
        months = amount * 12 if unit == "years" else amount
        if isinstance(value, datetime):
            return from_local(add_months(local_time(value, zone), months), zone)
        return add_months(wall_midnight(value), months).date()
    days = timedelta(days=amount * 7 if unit == "weeks" else amount)
    if isinstance(value, datetime):
        return from_local(local_time(value, zone) + days, zone)
    if days % timedelta(days=1):
        return None  # a date moves by whole days only
    return value + days


def diff(start: date, end: date, unit: str, zone: tzinfo) -> int | None:
    """Whole `unit`s from `start` to `end` (negative when `end` is earlier), truncated."""
    try:
        return _diff(start, end, unit, zone)
    except (OverflowError, ValueError):
        return None


def _diff(start: date, end: date, unit: str, zone: tzinfo) -> int:
    if unit in SUB_DAY:
        a = start if isinstance(start, datetime) else midnight(start, zone)
        b = end if isinstance(end, datetime) else midnight(end, zone)
        return _truncated(_micros(b - a), SUB_DAY[unit] * _MICROS_PER_SECOND)
    a = _wall(start, zone)
    b = _wall(end, zone)
    if unit in ("days", "weeks"):
        return _truncated(_micros(b - a), _DAY_MICROS * (7 if unit == "weeks" else 1))
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if months > 0 and add_months(a, months) > b:
        months -= 1
    elif months < 0 and add_months(a, months) < b:
        months += 1
    return months if unit == "months" else _truncated(months, 12)


def _wall(value: date, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return local_time(value, zone)
    return wall_midnight(value)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _MICROS_PER_SECOND + delta.microseconds


def _truncated(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero, as "whole units" reads."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient
