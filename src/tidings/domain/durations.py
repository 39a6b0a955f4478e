"""ISO 8601 durations (`PT2H`, `P1D`, `P1W`) and instants, parsed without I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

MICROS = 1_000_000
MAX_DURATION = timedelta(days=36_525)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO = timedelta(microseconds=1)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    Years and months are refused: their length depends on the calendar, so a flow should
    say `P30D` or `P365D` and mean it.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT2H or P1D")
    parts = match.groupdict()
    try:
        value = timedelta(
            weeks=int(parts["weeks"] or 0),
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=float(parts["seconds"] or 0),
        )
    except OverflowError:
        value = MAX_DURATION * 2
    if value > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than 100 years")
    return value


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that carries its offset (`Z` or `+02:00`)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 instant") from exc
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it as 2026-01-05T09:00:00Z")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{text!r} is out of range (1900 to 9000)")
    return value


def to_micros(value: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (how the store keeps time)."""
    return (value - _EPOCH) // _ONE_MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def format_instant(value: datetime) -> str:
    """The one way instants leave the system: UTC, `Z`, milli- or microseconds when present."""
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if not value.microsecond:
        return base + "Z"
    if value.microsecond % 1000 == 0:
        return f"{base}.{value.microsecond // 1000:03d}Z"
    return f"{base}.{value.microsecond:06d}Z"  # never round an instant away


def format_micros(value: int) -> str:
    return format_instant(from_micros(value))
