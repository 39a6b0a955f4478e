"""A scope and a context that the expression tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tidings.domain.expressions import (
    EvalContext,
    ExpressionError,
    Scope,
    ValueType,
    compile_expression,
)

V = ValueType
NOW = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)  # a Monday

SCOPE = Scope(
    variables={
        "cartValue": V.decimal,
        "count": V.integer,
        "label": V.text,
        "flag": V.boolean,
        "due": V.date,
        "sentAt": V.datetime,
        "items": V.list,
    },
    person={
        "firstName": V.text,
        "country": V.text,
        "loyaltyPoints": V.integer,
        "birthDate": V.date,
        "optedOut": V.boolean,
        "tags": V.list,
    },
    event={"cartValue": V.decimal, "sku": V.text, "at": V.datetime},
    elements=frozenset({"sms1", "email1"}),
)

VARIABLES: dict[str, Any] = {
    "cartValue": 12.5,
    "count": 3,
    "label": "gold",
    "flag": True,
    "due": "2026-01-31",
    "sentAt": "2026-01-05T09:00:00Z",
    "items": ["a", "b", 3],
}
PERSON: dict[str, Any] = {
    "firstName": "Ana",
    "country": "HR",
    "loyaltyPoints": 120,
    "birthDate": "1990-05-01",
    "optedOut": False,
    "tags": ["vip", "buyer"],
}
EVENT: dict[str, Any] = {"cartValue": 80, "sku": "X-1", "at": "2026-01-05T10:00:00Z"}


def context(**changes: Any) -> EvalContext:
    base: dict[str, Any] = {
        "variables": VARIABLES,
        "person": PERSON,
        "event": EVENT,
        "now": NOW,
        "timezone": "Europe/Zagreb",
    }
    base.update(changes)
    return EvalContext(**base)


def ev(
    source: str,
    scope: Scope = SCOPE,
    *,
    expect: ValueType | None = None,
    **changes: Any,
) -> Any:
    """Compile `source` and evaluate it in the shared context (with `changes`)."""
    return compile_expression(source, scope, expect=expect).evaluate(context(**changes))


def error(source: str, scope: Scope = SCOPE, *, expect: ValueType | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope, expect=expect)
    return caught.value


def column(source: str, marker: str) -> int:
    """The 0-based offset of `marker` in `source` (to state expected error positions)."""
    offset = source.index(marker)
    return offset
