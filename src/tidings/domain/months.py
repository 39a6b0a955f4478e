"""Calendar months in a time zone, as MEP counts them (DESIGN.md, "MEP").

A month is the integer `year * 100 + month` (202611), written `2026-11` on the wire. An
instant belongs to the month of its wall-clock date in the zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tidings.domain.durations import from_micros, to_micros

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_of(at: int, zone: ZoneInfo) -> int:
    """The month (202611) of the instant `at` (micros) in `zone`."""
    local = from_micros(at).astimezone(zone)
    return local.year * 100 + local.month


def month_span(month: int, zone: ZoneInfo) -> tuple[int, int]:
    """The instants (micros) `[start, end)` of `month` in `zone`."""
    return _start(month, zone), _start(shift(month, 1), zone)


def _start(month: int, zone: ZoneInfo) -> int:
    return to_micros(datetime(month // 100, month % 100, 1, tzinfo=zone))


def shift(month: int, by: int) -> int:
    """The month `by` months after (or before, negative) `month`."""
    index = (month // 100) * 12 + (month % 100 - 1) + by
    return (index // 12) * 100 + index % 12 + 1


def parse_month(text: str) -> int | None:
    """`2026-11` -> 202611; None for anything else."""
    found = _MONTH.fullmatch(text)
    if found is None:
        return None
    year, month = int(found[1]), int(found[2])
    return year * 100 + month if year >= 1 and 1 <= month <= 12 else None


def format_month(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"
