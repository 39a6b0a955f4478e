"""The comparison at a segment rule's leaf: an operator and a value, checked against a type.

Shared by person attributes (`{"attribute", "op", "value"}`) and event properties
(`{"property", "op", "value"}`). Values are kept in the canonical form of
`domain/values.py`, the form in which profiles and events are stored, so the store can
compare like with like: numbers as numbers, dates and instants as their canonical texts,
booleans as booleans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tidings.domain.errors import ProblemList
from tidings.domain.values import ValueType, coerce

MAX_IN = 1000
_INT64 = 2**63


class Op(StrEnum):
    eq = "eq"
    ne = "ne"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    contains = "contains"
    starts_with = "startsWith"
    in_ = "in"
    exists = "exists"
    not_exists = "notExists"


_ORDERED = (Op.eq, Op.ne, Op.gt, Op.gte, Op.lt, Op.lte, Op.in_, Op.exists, Op.not_exists)
# Texts have no order test: PostgreSQL sorts by the server's collation and SQLite by code
# point, so `gt` on a name would answer differently on the two databases.
OPS: dict[ValueType, tuple[Op, ...]] = {
    ValueType.text: (
        Op.eq,
        Op.ne,
        Op.in_,
        Op.contains,
        Op.starts_with,
        Op.exists,
        Op.not_exists,
    ),
    ValueType.integer: _ORDERED,
    ValueType.decimal: _ORDERED,
    ValueType.date: _ORDERED,
    ValueType.datetime: _ORDERED,
    ValueType.boolean: (Op.eq, Op.ne, Op.exists, Op.not_exists),
    ValueType.list: (Op.contains, Op.exists, Op.not_exists),
}
COUNT_OPS = (Op.eq, Op.ne, Op.gt, Op.gte, Op.lt, Op.lte)
_WHOLE = (Op.eq, Op.ne, Op.in_)


@dataclass(frozen=True)
class Comparison:
    """`op` applied to a value of type `kind`. `value` is a canonical scalar, a tuple of
    them for `in`, and None for `exists` and `notExists`. For a list, `contains` holds
    when one of its items equals `value`."""

    op: Op
    kind: ValueType
    value: Any = None

    def json(self) -> dict[str, Any]:
        if self.op in (Op.exists, Op.not_exists):
            return {"op": self.op.value}
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"op": self.op.value, "value": value}


def clean_text(value: str) -> str:
    """`value`, or ValueError when no database could store it: PostgreSQL refuses NUL
    characters, and unpaired surrogates are not UTF-8."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def printable(text: str) -> str:
    """`text` as it may appear in an answer: unpaired surrogates escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_test(
    node: Mapping[str, Any],
    kind: ValueType,
    path: str,
    problems: ProblemList,
    whole: Callable[[Any], Any] | None,
) -> Comparison | None:
    """Check `node["op"]` and `node["value"]` for a value of type `kind`.

    `whole`, when given, puts a value compared whole (`eq`, `ne`, `in`) in stored form
    or raises ValueError (standard attributes: `"hr"` -> `"HR"`).
    """
    raw_op = node.get("op")
    if raw_op is None:
        problems.add(f"{path}.op", "is required")
        return None
    allowed = OPS[kind]
    names = ", ".join(o.value for o in allowed)
    try:
        op = Op(raw_op)
    except ValueError:
        shown = printable(raw_op) if isinstance(raw_op, str) else raw_op
        problems.add(f"{path}.op", f"unknown op {shown!r}: use one of {names}")
        return None
    if op not in allowed:
        problems.add(f"{path}.op", f"{op.value} does not apply to a {kind.value}; use {names}")
        return None
    if op in (Op.exists, Op.not_exists):
        if "value" in node:
            problems.add(f"{path}.value", f"{op.value} takes no value")
            return None
        return Comparison(op, kind)
    raw = node.get("value")
    if raw is None:
        problems.add(f"{path}.value", "is required (notExists finds absent values)")
        return None
    convert = whole if whole is not None and op in _WHOLE else None
    if op is not Op.in_:
        value = _value(raw, kind, op, convert, f"{path}.value", problems)
        return None if value is None else Comparison(op, kind, value)
    if not isinstance(raw, list) or not raw or len(raw) > MAX_IN:
        problems.add(f"{path}.value", f"must be a list of 1 to {MAX_IN} values")
        return None
    values = [
        _value(item, kind, op, convert, f"{path}.value.{i}", problems) for i, item in enumerate(raw)
    ]
    if any(v is None for v in values):
        return None
    return Comparison(op, kind, tuple(dict.fromkeys(values)))


def _value(
    raw: Any,
    kind: ValueType,
    op: Op,
    convert: Callable[[Any], Any] | None,
    path: str,
    problems: ProblemList,
) -> Any:
    try:
        if raw is None:
            raise ValueError("must not be null")
        if kind is ValueType.list:
            value = _item(raw)
        elif convert is not None:
            value = convert(raw)
        else:
            value = coerce(raw, kind)
        if kind is ValueType.datetime:
            # A sub-millisecond instant prints as `.000Z`, which reads back as whole
            # seconds: coerce again so that the canonical value is a fixed point.
            value = coerce(value, kind)
        if isinstance(value, str):
            clean_text(value)
            if op in (Op.contains, Op.starts_with) and not value:
                raise ValueError("must not be empty")
        if isinstance(value, int) and not -_INT64 < value < _INT64:
            raise ValueError("must fit in 64 bits")
    except ValueError as exc:
        problems.add(path, str(exc))
        return None
    return value


def _item(raw: Any) -> Any:
    """A value a list may contain: a text or a number."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return raw
    raise ValueError("must be a text or a number")
