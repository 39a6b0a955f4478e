"""Type rules and closures for the operators.

Each operator is checked once, at compile time, and becomes a closure specialised to
its operand types, so that evaluation does no type dispatch: `event.cartValue > 50`
becomes "read, test for null, compare with the constant 50".

Null rules: arithmetic with null gives null; `==` and `!=` treat null as a value (null
equals only null); ordering and `in` with null are false; `and`, `or` and `not` treat
null (and anything but true) as false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.kinds import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    LIST,
    NULL,
    NUMERIC,
    ORDERED,
    TEXT,
    Ty,
    Typed,
    cast,
    constant,
    describe,
)
from tidings.domain.expressions.operators_math import arithmetic
from tidings.domain.expressions.runtime import EvalContext, member, ordered, same

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def binary(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    if op in ("and", "or"):
        return _logic(op, left, right, pos)
    if op in ("==", "!="):
        return _equality(op, left, right, pos)
    if op in _ORDER:
        return _ordering(op, left, right, pos)
    if op in ("in", "not in"):
        found = _membership(left, right, pos)
        return found if op == "in" else negate(found, pos)
    return arithmetic(op, left, right, pos)


def unary(op: str, operand: Typed, pos: int) -> Typed:
    if op == "not":
        _need_boolean("not", operand)
        return negate(operand, pos)
    if operand.ty not in NUMERIC and operand.ty not in (ANY, NULL):
        raise ExpressionError(f"cannot negate {describe(operand.ty)}", pos)
    value = cast(operand, DECIMAL) if operand.ty == ANY else operand
    inner = value.fn

    def neg(ctx: EvalContext) -> Any:
        number = inner(ctx)
        return None if number is None else -number

    return Typed(neg, value.ty if value.ty != NULL else DECIMAL, pos)


def truth(typed: Typed) -> Typed:
    """`typed` as exactly True or False: anything but true is false."""
    if typed.never_null:
        return typed
    inner = typed.fn

    def run(ctx: EvalContext) -> bool:
        return inner(ctx) is True

    return Typed(run, BOOLEAN, typed.pos, never_null=True)


def negate(typed: Typed, pos: int) -> Typed:
    inner = typed.fn

    def run(ctx: EvalContext) -> bool:
        return inner(ctx) is not True

    return Typed(run, BOOLEAN, pos, never_null=True)


def _need_boolean(op: str, operand: Typed) -> None:
    if operand.ty not in (BOOLEAN, ANY, NULL):
        raise ExpressionError(
            f"{op} needs true or false, not {describe(operand.ty)}; compare it first",
            operand.pos,
        )


def _logic(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    _need_boolean(op, left)
    _need_boolean(op, right)
    a, b = left.fn, right.fn
    if op == "and":

        def both(ctx: EvalContext) -> bool:
            return a(ctx) is True and b(ctx) is True

        return Typed(both, BOOLEAN, pos, never_null=True)

    def either(ctx: EvalContext) -> bool:
        return a(ctx) is True or b(ctx) is True

    return Typed(either, BOOLEAN, pos, never_null=True)


def _harmonize(op: str, left: Typed, right: Typed, pos: int, allowed: frozenset[Ty]) -> Ty:
    """The type both sides are compared as; any takes the other side's type."""
    lt, rt = left.ty, right.ty
    if lt in (ANY, NULL) or rt in (ANY, NULL):
        known = rt if lt in (ANY, NULL) else lt
        if known not in allowed and known not in (ANY, NULL):
            raise ExpressionError(f"cannot use {op} with {describe(known)}", pos)
        # A value typed only at run time may be a decimal: against a whole number, compare
        # as decimals, so that 80.5 > 50 holds (an integer cast would lose it).
        return DECIMAL if known == INTEGER else known
    if lt in NUMERIC and rt in NUMERIC:
        return DECIMAL
    if lt == rt and lt in allowed:
        return lt
    hint = ""
    if {lt, rt} == {DATE, DATETIME}:
        hint = "; convert one side with date(x) or datetime(x)"
    elif TEXT in (lt, rt) and (lt in NUMERIC or rt in NUMERIC):
        hint = "; convert with toNumber(x) or toText(x)"
    if lt != rt:
        raise ExpressionError(f"cannot compare {describe(lt)} with {describe(rt)}{hint}", pos)
    raise ExpressionError(f"cannot use {op} with {describe(lt)}", pos)


def _equality(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    ty = _harmonize(op, left, right, pos, frozenset({BOOLEAN, LIST, *ORDERED}))
    if ty in (ANY, NULL):
        a, b = left.fn, right.fn

        def dynamic(ctx: EvalContext) -> bool:
            return same(a(ctx), b(ctx))

        result = Typed(dynamic, BOOLEAN, pos, never_null=True)
    else:
        result = _compare(operator.eq, cast(left, ty), cast(right, ty), pos, null_equal=True)
    return result if op == "==" else negate(result, pos)


def _ordering(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    ty = _harmonize(op, left, right, pos, ORDERED)
    test = _ORDER[op]
    if left.ty == NULL or right.ty == NULL:
        return constant(False, BOOLEAN, pos)
    if ty == ANY:
        a, b = left.fn, right.fn

        def dynamic(ctx: EvalContext) -> bool:
            pair = ordered(a(ctx), b(ctx))
            if pair is None:
                return False
            try:
                return test(*pair)
            except TypeError:  # two values of different kinds, such as text and number
                return False

        return Typed(dynamic, BOOLEAN, pos, never_null=True)
    return _compare(test, cast(left, ty), cast(right, ty), pos, null_equal=False)


def _compare(
    test: Callable[[Any, Any], bool], left: Typed, right: Typed, pos: int, *, null_equal: bool
) -> Typed:
    """A comparison of two values of one known type, specialised for a constant side."""
    a, b = left.fn, right.fn
    if null_equal:
        if right.is_constant:
            k = right.constant

            def eq_constant(ctx: EvalContext) -> bool:
                return test(a(ctx), k)

            return Typed(eq_constant, BOOLEAN, pos, never_null=True)

        def eq(ctx: EvalContext) -> bool:
            return test(a(ctx), b(ctx))

        return Typed(eq, BOOLEAN, pos, never_null=True)
    if right.is_constant:
        k = right.constant

        def order_constant(ctx: EvalContext) -> bool:
            x = a(ctx)
            return x is not None and test(x, k)

        return Typed(order_constant, BOOLEAN, pos, never_null=True)

    def order(ctx: EvalContext) -> bool:
        x = a(ctx)
        if x is None:
            return False
        y = b(ctx)
        return y is not None and test(x, y)

    return Typed(order, BOOLEAN, pos, never_null=True)


def _membership(left: Typed, right: Typed, pos: int) -> Typed:
    if right.ty == TEXT and left.ty not in (TEXT, ANY, NULL):
        raise ExpressionError(
            f"in with a text on its right needs a text on its left, not {describe(left.ty)}",
            left.pos,
        )
    if right.ty not in (TEXT, LIST, ANY, NULL):
        raise ExpressionError(
            f"in needs a list or a text on its right, not {describe(right.ty)}", right.pos
        )
    a, b = left.fn, right.fn
    if (
        left.ty == TEXT
        and right.is_constant
        and right.ty == LIST
        and all(isinstance(item, str) for item in right.constant)
    ):
        choices = frozenset(right.constant)

        def one_of(ctx: EvalContext) -> bool:
            return a(ctx) in choices

        return Typed(one_of, BOOLEAN, pos, never_null=True)
    if left.ty == TEXT and right.ty in (TEXT, LIST):

        def texts(ctx: EvalContext) -> bool:
            needle = a(ctx)
            haystack = b(ctx)
            return needle is not None and haystack is not None and needle in haystack

        return Typed(texts, BOOLEAN, pos, never_null=True)

    def anything(ctx: EvalContext) -> bool:
        return member(a(ctx), b(ctx))

    return Typed(anything, BOOLEAN, pos, never_null=True)
