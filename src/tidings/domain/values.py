"""Typed values shared by custom attributes, event properties and (later) flow variables.

A value is checked against its declared type on write and stored in one canonical JSON
form, so that segments and expressions compare like with like: decimals and integers as
JSON numbers, dates as `YYYY-MM-DD`, datetimes as UTC ISO 8601 with `Z`.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Any

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
                return value
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
                return value
            raise ValueError("must be a list")
    raise AssertionError(kind)  # pragma: no cover - the match is exhaustive


def _number(value: Any, *, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, str):
        try:
            value = float(value) if not integer else int(value)
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if integer:
            if not value.is_integer():
                raise ValueError("must be a whole number")
            return int(value)
        return value
    raise ValueError("must be a whole number" if integer else "must be a number")
