"""Static types: what the checker knows about a sub-expression before it runs.

A type is one of the declared `ValueType`s, `"any"` (known only at run time, such as
`response.x`) or `"null"` (the literal `null`, which fits every type). When a value of
type any meets a known type, the compiler inserts a `cast`: at run time it keeps a value
of that type and turns anything else into null, so typed code never sees foreign data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.runtime import (
    EvalContext,
    Fn,
    as_bool,
    as_date,
    as_datetime,
    as_integer,
    as_list,
    as_number,
    as_text,
)
from tidings.domain.values import ValueType

Ty = ValueType | Literal["any", "null"]
ANY: Final = "any"
NULL: Final = "null"

BOOLEAN = ValueType.boolean
TEXT = ValueType.text
DECIMAL = ValueType.decimal
INTEGER = ValueType.integer
DATE = ValueType.date
DATETIME = ValueType.datetime
LIST = ValueType.list

NUMERIC: Final = frozenset({INTEGER, DECIMAL})
TEMPORAL: Final = frozenset({DATE, DATETIME})
ORDERED: Final = frozenset({INTEGER, DECIMAL, TEXT, DATE, DATETIME})
EVERY: Final = frozenset(ValueType)

_NAMES = {
    BOOLEAN: "true/false",
    TEXT: "text",
    DECIMAL: "decimal",
    INTEGER: "integer",
    DATE: "date",
    DATETIME: "datetime",
    LIST: "list",
    ANY: "any value",
    NULL: "null",
}

_CASTS: dict[Ty, Callable[[Any], Any]] = {
    BOOLEAN: as_bool,
    TEXT: as_text,
    DECIMAL: as_number,
    INTEGER: as_integer,
    DATE: as_date,
    DATETIME: as_datetime,
    LIST: as_list,
}


def describe(ty: Ty) -> str:
    return _NAMES[ty]


def public(ty: Ty) -> ValueType | None:
    """The type an Expression reports: None when only run time will tell."""
    return None if ty in (ANY, NULL) else ty  # type: ignore[return-value]


_NO_VALUE: Final[Any] = object()


@dataclass(frozen=True, slots=True)
class Typed:
    """A compiled sub-expression: its closure, its static type and where it starts."""

    fn: Fn
    ty: Ty
    pos: int
    constant: Any = _NO_VALUE  # the value, when the sub-expression is a literal
    never_null: bool = False  # always True or False (comparisons, and/or/not)

    @property
    def is_constant(self) -> bool:
        return self.constant is not _NO_VALUE


def constant(value: Any, ty: Ty, pos: int) -> Typed:
    def run(ctx: EvalContext) -> Any:
        return value

    return Typed(run, ty, pos, constant=value, never_null=value is not None)


def cast(typed: Typed, target: Ty) -> Typed:
    """`typed` seen as `target`: any is checked at run time, null stays null."""
    if typed.ty == target or target in (ANY, NULL):
        return typed
    if typed.ty == NULL:
        return replace(typed, ty=target)
    if typed.ty == INTEGER and target == DECIMAL:
        return replace(typed, ty=DECIMAL)
    assert typed.ty == ANY, (typed.ty, target)
    check = _CASTS[target]
    inner = typed.fn

    def run(ctx: EvalContext) -> Any:
        return check(inner(ctx))

    return Typed(run, target, typed.pos)


def unify(items: Iterable[Typed], what: str) -> Ty:
    """The one type several values share (integer widens to decimal), or an error."""
    found: Ty = NULL
    for item in items:
        ty = item.ty
        if ty in (NULL, found):
            continue
        if found == NULL:
            found = ty
        elif ty == ANY or found == ANY:
            found = found if ty == ANY else ty
        elif ty in NUMERIC and found in NUMERIC:
            found = DECIMAL
        else:
            raise ExpressionError(
                f"{what} must all have one type: found {describe(found)} and {describe(ty)}",
                item.pos,
            )
    return found
