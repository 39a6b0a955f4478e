"""Arithmetic: `+ - * / %` on numbers, `+` on texts (concatenation) and lists.

Integers stay integers (Python's unbounded ints, so `+ - * %` agree with Python);
`/` always gives a decimal. Division or remainder by zero, and a decimal result that
overflows, give null. `+` with a text on either side joins the other side's text form.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.kinds import (
    ANY,
    DECIMAL,
    INTEGER,
    LIST,
    NULL,
    NUMERIC,
    TEMPORAL,
    TEXT,
    Ty,
    Typed,
    cast,
    describe,
)
from tidings.domain.expressions.runtime import EvalContext, as_number, finite, to_text

_NUMERIC_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "take % of"}


def arithmetic(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    lt, rt = left.ty, right.ty
    if op == "+":
        if lt == TEXT or rt == TEXT:
            return _concat(left, right, pos)
        if (lt == LIST and rt in (LIST, NULL, ANY)) or (rt == LIST and lt in (NULL, ANY)):
            return _join_lists(cast(left, LIST), cast(right, LIST), pos)
        if (lt == ANY and rt in (ANY, NULL)) or (rt == ANY and lt == NULL):
            return _dynamic_plus(left, right, pos)
    for side in (left, right):
        if side.ty not in NUMERIC and side.ty not in (ANY, NULL):
            raise ExpressionError(_refusal(op, lt, rt), pos)
    if lt in (ANY, NULL) and rt in (ANY, NULL):
        ty: Ty = DECIMAL
    elif (lt == INTEGER and rt in (INTEGER, NULL)) or (rt == INTEGER and lt == NULL):
        ty = INTEGER
    else:
        ty = DECIMAL
    if op == "/":
        ty = DECIMAL
    a, b = cast(left, DECIMAL).fn, cast(right, DECIMAL).fn
    return Typed(_numeric(op, a, b, checked=ty == DECIMAL), ty, pos)


def _refusal(op: str, lt: Ty, rt: Ty) -> str:
    if op in "+-" and (lt in TEMPORAL or rt in TEMPORAL):
        return f"cannot {_VERBS[op]} {describe(lt)} and {describe(rt)}: use dateAdd or dateDiff"
    return f"cannot {_VERBS[op]} {describe(lt)} and {describe(rt)}"


def _numeric(op: str, a: Any, b: Any, *, checked: bool) -> Any:
    apply = _NUMERIC_OPS[op]
    if op in ("/", "%"):

        def divide(ctx: EvalContext) -> Any:
            x = a(ctx)
            y = b(ctx)
            if x is None or y is None or y == 0:
                return None
            return finite(apply(x, y))

        return divide
    if checked:

        def decimal(ctx: EvalContext) -> Any:
            x = a(ctx)
            y = b(ctx)
            return None if x is None or y is None else finite(apply(x, y))

        return decimal

    def integer(ctx: EvalContext) -> Any:
        x = a(ctx)
        y = b(ctx)
        return None if x is None or y is None else apply(x, y)

    return integer


def _concat(left: Typed, right: Typed, pos: int) -> Typed:
    for side in (left, right):
        if side.ty == LIST:
            raise ExpressionError("cannot add a list to a text: use join(list, sep)", side.pos)
    a, b = left.fn, right.fn
    if left.ty == TEXT and right.ty == TEXT:

        def texts(ctx: EvalContext) -> Any:
            x = a(ctx)
            y = b(ctx)
            return None if x is None or y is None else x + y

        return Typed(texts, TEXT, pos)

    def mixed(ctx: EvalContext) -> Any:
        x = to_text(a(ctx))
        y = to_text(b(ctx))
        return None if x is None or y is None else x + y

    return Typed(mixed, TEXT, pos)


def _join_lists(left: Typed, right: Typed, pos: int) -> Typed:
    a, b = left.fn, right.fn

    def lists(ctx: EvalContext) -> Any:
        x = a(ctx)
        y = b(ctx)
        return None if x is None or y is None else [*x, *y]

    return Typed(lists, LIST, pos)


def _dynamic_plus(left: Typed, right: Typed, pos: int) -> Typed:
    a, b = left.fn, right.fn

    def plus(ctx: EvalContext) -> Any:
        x = a(ctx)
        y = b(ctx)
        if isinstance(x, str) or isinstance(y, str):
            tx, ty = to_text(x), to_text(y)
            return None if tx is None or ty is None else tx + ty
        if isinstance(x, list) and isinstance(y, list):
            return [*x, *y]
        nx, ny = as_number(x), as_number(y)
        return None if nx is None or ny is None else finite(nx + ny)

    return Typed(plus, ANY, pos)
