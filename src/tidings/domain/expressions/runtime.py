"""Runtime values: how data from the context is read, converted and written back.

Inside a compiled expression, dates are `datetime.date` and datetimes are aware UTC
`datetime.datetime` objects; everything else is the canonical JSON-like form of
`domain/values.py` (numbers, texts, booleans, lists). `externalize` turns a result back
into canonical form (`YYYY-MM-DD`, `…Z`). Every helper here returns None for data it
cannot use instead of raising: a flow never stops on bad data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(slots=True)
class EvalContext:
    """What one evaluation may read. Nothing else is reachable from an expression."""

    variables: Mapping[str, Any]
    person: Mapping[str, Any]
    event: Mapping[str, Any] | None
    now: datetime  # aware; now() returns it in UTC
    timezone: str = "UTC"  # the account's zone: every date function but now() uses it
    response: Mapping[str, Any] | None = None
    item: Mapping[str, Any] | None = None
    # (element id, "clicked" | "delivered" | "seen" | "failed") -> whether it happened
    message_events: Callable[[str, str], bool] | None = None


Fn = Callable[[EvalContext], Any]

zone_named: Callable[[str], tzinfo] = lru_cache(maxsize=128)(ZoneInfo)


def zone_of(ctx: EvalContext) -> tzinfo:
    return zone_named(ctx.timezone)


def as_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 text with an offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None
        return parsed.astimezone(UTC)
    return None


def as_date(value: Any) -> date | None:
    """A date from a date or a `YYYY-MM-DD` text (a datetime gives its UTC date)."""
    if isinstance(value, datetime):
        return as_datetime(value).date()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool | None:
    return value if value is True or value is False else None


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_number(value: Any) -> int | float | None:
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float and math.isfinite(value):
        return value  # type: ignore[no-any-return]
    return None


def as_integer(value: Any) -> int | None:
    number = as_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def as_list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None


def finite(value: int | float) -> int | float | None:
    """Arithmetic on decimals may overflow to infinity; that is no value."""
    if type(value) is float and not math.isfinite(value):
        return None
    return value


def externalize(value: Any) -> Any:
    """The canonical form of a value leaving an expression."""
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@lru_cache(maxsize=256)
def instant_text(value: datetime) -> str:
    """`durations.format_instant` for years 1000-9999, twice as fast (no strftime), and
    remembered: a batch asks it of one instant for every person (equal instants in any
    zone are one key, and one text)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    if value.microsecond:
        return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 - faster than format
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 1000,
        )
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def to_text(value: Any) -> str | None:
    """How a value reads as text: in concat(), `+` with a text, join() and toText()."""
    if value is None or isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date):
        return externalize(value)  # type: ignore[no-any-return]
    return json.dumps(value, ensure_ascii=False, default=str)


def to_number(value: Any) -> int | float | None:
    """A number from a number or a text such as "12", " 12.50 " or "1e3"."""
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return as_number(value)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def same(a: Any, b: Any) -> bool:
    """Equality for values whose type is known only at run time: true is not 1."""
    if (type(a) is bool) is not (type(b) is bool):
        return False
    if isinstance(a, datetime | date) or isinstance(b, datetime | date):
        a, b = externalize(a), externalize(b)
    return bool(a == b)


def ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Two values that can be ordered against each other, or None."""
    if a is None or b is None or type(a) is bool or type(b) is bool:
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a, b
    if isinstance(a, datetime) or isinstance(b, datetime):
        left, right = as_datetime(a), as_datetime(b)
    elif isinstance(a, date) or isinstance(b, date):
        left, right = as_date(a), as_date(b)  # type: ignore[assignment]
    elif isinstance(a, str) and isinstance(b, str):
        return a, b
    else:
        return None
    return None if left is None or right is None else (left, right)


def member(needle: Any, haystack: Any) -> bool:
    """`needle in haystack` for a list (by `same`) or a text (as a substring)."""
    if needle is None or haystack is None:
        return False
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list):
        needle = externalize(needle)
        return any(same(needle, item) for item in haystack)
    return False


def lookup(data: Any, path: tuple[str, ...]) -> Any:
    """Follow `path` through nested mappings; None where a key is absent. Keys only."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data
