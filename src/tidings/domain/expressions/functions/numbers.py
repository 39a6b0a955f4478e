"""Numbers: round, floor, ceil, abs, min, max and sum.

round() rounds half away from zero on the decimal digits as written (2.675 → 2.68),
as a spreadsheet does, not on the binary float (Python's round gives 2.67).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.functions.base import Function, argument, plain
from tidings.domain.expressions.kinds import (
    ANY,
    DECIMAL,
    INTEGER,
    LIST,
    NULL,
    NUMERIC,
    ORDERED,
    Typed,
    cast,
    describe,
    unify,
)
from tidings.domain.expressions.nodes import Call
from tidings.domain.expressions.runtime import EvalContext, as_number, finite

_NUMBER = frozenset(NUMERIC)
_DECIMALS = Context(prec=400, rounding=ROUND_HALF_UP)
MAX_DIGITS = 30


def round_half_up(value: int | float, digits: int = 0) -> int | float:
    """Round to `digits` decimal places (negative: tens, hundreds …), half away from zero."""
    digits = max(-MAX_DIGITS, min(MAX_DIGITS, digits))
    if isinstance(value, int) and digits >= 0:
        return value
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(-digits), context=_DECIMALS)
    return int(rounded) if digits <= 0 else float(rounded)


def _round(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], _NUMBER, "a number")
    if len(args) == 1:
        return plain(call, [value], INTEGER, round_half_up)
    digits = argument(call, 1, args[1], frozenset({INTEGER}), "a whole number of digits")
    return plain(call, [value, digits], DECIMAL, round_half_up)


def _to_integer(name: str, impl: Callable[[Any], int]) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        value = argument(call, 0, args[0], _NUMBER, "a number")
        return plain(call, [value], INTEGER, impl)

    return Function(name, "number", 1, 1, build)


def _abs(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], _NUMBER, "a number")
    return plain(call, [value], value.ty if value.ty != NULL else DECIMAL, abs)


def _extreme(name: str, pick: Callable[[list[Any]], Any]) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        if len(args) == 1 and args[0].ty in (LIST, ANY):
            return plain(call, [cast(args[0], LIST)], ANY, lambda items: _of_list(items, pick))
        ty = unify(args, f"the arguments of {name}")
        if ty not in ORDERED and ty not in (ANY, NULL):
            raise ExpressionError(
                f"{name} needs numbers, texts, dates or datetimes, not {describe(ty)}", call.pos
            )
        fns = [cast(arg, ty).fn for arg in args]

        def run(ctx: EvalContext) -> Any:
            values = [value for fn in fns if (value := fn(ctx)) is not None]
            return pick(values) if values else None

        return Typed(run, ty, call.pos)

    return Function(name, "list, or value, value, ...", 1, None, build)


def _of_list(items: list[Any], pick: Callable[[list[Any]], Any]) -> Any:
    values = [item for item in items if item is not None]
    if not values:
        return None
    if all(as_number(item) is not None for item in values) or all(
        isinstance(item, str) for item in values
    ):
        return pick(values)
    return None


def _sum(call: Call, args: list[Typed]) -> Typed:
    items = argument(call, 0, args[0], frozenset({LIST}), "a list of numbers")
    return plain(call, [items], DECIMAL, _total)


def _total(items: list[Any]) -> int | float | None:
    total: int | float = 0
    for item in items:
        if item is None:
            continue
        number = as_number(item)
        if number is None:
            return None
        total += number
    return finite(total)


FUNCTIONS = [
    Function("round", "number, digits", 1, 2, _round),
    _to_integer("floor", math.floor),
    _to_integer("ceil", math.ceil),
    Function("abs", "number", 1, 1, _abs),
    _extreme("min", min),
    _extreme("max", max),
    Function("sum", "list", 1, 1, _sum),
]
