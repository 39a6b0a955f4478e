"""Event definitions and the check of an incoming event against its definition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tidings.domain.errors import ProblemList
from tidings.domain.values import ValueType, coerce

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$")
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_MESSAGE_PROPERTIES: dict[str, ValueType] = {
    "flow": ValueType.integer,
    "version": ValueType.integer,
    "element": ValueType.text,
    "channel": ValueType.text,
    "messageId": ValueType.text,
    "reason": ValueType.text,
    "url": ValueType.text,
}

# Standard events exist in every account; they cannot be changed or deleted.
STANDARD_EVENTS: dict[str, dict[str, ValueType]] = {
    "message.delivered": _MESSAGE_PROPERTIES,
    "message.failed": _MESSAGE_PROPERTIES,
    "message.seen": _MESSAGE_PROPERTIES,
    "message.clicked": _MESSAGE_PROPERTIES,
    "message.received": {
        "channel": ValueType.text,
        "from": ValueType.text,
        "to": ValueType.text,
        "text": ValueType.text,
        "keyword": ValueType.text,  # the first word of the text, upper-cased
    },
}

MAX_PROPERTIES = 100


def check_event_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError("must start with a letter and hold at most 128 letters, digits, _, . or -")


def check_property_name(name: str) -> None:
    if not _PROPERTY.match(name):
        raise ValueError("must start with a letter or _ and hold only letters, digits and _")


def check_definition(properties: Mapping[str, str], problems: ProblemList) -> dict[str, ValueType]:
    """Check the typed properties of a custom event definition."""
    out: dict[str, ValueType] = {}
    if len(properties) > MAX_PROPERTIES:
        problems.add("properties", f"at most {MAX_PROPERTIES} properties")
        return out
    lists = 0
    for name, kind in properties.items():
        try:
            check_property_name(name)
        except ValueError as exc:
            problems.add(f"properties.{name}", str(exc))
            continue
        try:
            out[name] = ValueType(kind)
        except ValueError:
            problems.add(
                f"properties.{name}", f"must be one of {', '.join(t.value for t in ValueType)}"
            )
            continue
        lists += out[name] is ValueType.list
    if lists > 1:
        # The guide: "You can create only one property of List data type in an event."
        problems.add("properties", "an event may have only one property of type list")
    return out


def check_properties(
    properties: Mapping[str, Any],
    definition: Mapping[str, ValueType],
    problems: ProblemList,
    prefix: str,
) -> dict[str, Any]:
    """Return the properties in canonical form; unknown or mistyped ones become problems."""
    out: dict[str, Any] = {}
    for name, value in properties.items():
        kind = definition.get(name)
        if kind is None:
            problems.add(f"{prefix}properties.{name}", "is not a property of this event")
            continue
        try:
            out[name] = coerce(value, kind)
        except ValueError as exc:
            problems.add(f"{prefix}properties.{name}", str(exc))
    return out
