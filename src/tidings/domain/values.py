"""Typed values shared by custom attributes, event properties and (later) flow variables.

A value is checked against its declared type on write and stored in one canonical JSON
form, so that segments and expressions compare like with like: decimals and integers as
JSON numbers, dates as `YYYY-MM-DD`, datetimes as UTC ISO 8601 with `Z`.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Any, assert_never

from tidings.domain.durations import format_instant, parse_instant


class ValueType(StrEnum):
    boolean = "boolean"
    text = "text"
    decimal = "decimal"
    integer = "integer"
    date = "date"
    datetime = "datetime"
    list = "list"


MAX_TEXT = 4096
MAX_DEPTH = 8
_INT64 = 2**63


def check_text(value: str) -> str:
    """`value` unchanged, or ValueError when no database could store it: PostgreSQL refuses
    NUL characters, and unpaired surrogates are not UTF-8 at all."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def check_json(value: Any, depth: int = 0) -> None:
    """Raise ValueError unless `value` is JSON both databases and every client can hold:
    texts as `check_text`, numbers within 64 bits, bounded nesting."""
    if depth > MAX_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError("whole numbers must fit in 64 bits")
    elif isinstance(value, float):
        # PostgreSQL keeps JSON numbers as exact decimals, so 1e300 comes back as a whole
        # number of 301 digits: numbers stay within what 64-bit clients can read.
        if not math.isfinite(value) or abs(value) >= _INT64:
            raise ValueError("numbers must be finite and within ±9.2e18")
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key))
            check_json(item, depth + 1)
    else:
        raise ValueError("must be a JSON value")


def coerce(value: Any, kind: ValueType) -> Any:
    """Return `value` in canonical form for `kind`, or raise ValueError saying why not.

    `None` stays `None` (an absent value) for every type.
    """
    if value is None:
        return None
    match kind:
        case ValueType.boolean:
            if isinstance(value, bool):
                return value
            raise ValueError("must be true or false")
        case ValueType.text:
            if isinstance(value, str):
                if len(value) > MAX_TEXT:
                    raise ValueError(f"must be at most {MAX_TEXT} characters")
                return check_text(value)
            raise ValueError("must be a text")
        case ValueType.decimal:
            return _number(value, integer=False)
        case ValueType.integer:
            return _number(value, integer=True)
        case ValueType.date:
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value).isoformat()
                except ValueError:
                    pass
            raise ValueError("must be a date such as 2026-01-31")
        case ValueType.datetime:
            if isinstance(value, str):
                try:
                    return format_instant(parse_instant(value))
                except ValueError:
                    pass
            raise ValueError("must be an instant with offset such as 2026-01-31T09:00:00Z")
        case ValueType.list:
            if isinstance(value, list):
                check_json(value)
                return value
            raise ValueError("must be a list")
    assert_never(kind)


def _number(value: Any, *, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, str):
        try:
            value = float(value) if not integer else int(value)
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError("whole numbers must fit in 64 bits")
        return value
    if isinstance(value, float):
        # PostgreSQL keeps JSON numbers as exact decimals, so 1e300 would come back as a
        # whole number of 301 digits: numbers stay within what 64-bit clients can read.
        if not math.isfinite(value) or abs(value) >= _INT64:
            raise ValueError("must be a finite number within ±9.2e18")
        if integer:
            if not value.is_integer():
                raise ValueError("must be a whole number")
            return int(value)
        return value
    raise ValueError("must be a whole number" if integer else "must be a number")
