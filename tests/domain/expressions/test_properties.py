"""Properties over generated input: no crash but ExpressionError, literals round-trip,
integer arithmetic agrees with Python, evaluation never raises and fits its type."""

from __future__ import annotations

import math
import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.expressions import (
    FUNCTION_NAMES,
    EvalContext,
    ExpressionError,
    Scope,
    ValueType,
    compile_expression,
    literal,
)
from tidings.domain.values import coerce

from .helpers import SCOPE, V, context

TOKENS = [
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "&&",
    "||",
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
    "null",
    "1",
    "2.5",
    "0",
    '"a"',
    "'b'",
    '"',
    "\\",
    "person",
    "event",
    "response",
    "item",
    "firstName",
    "cartValue",
    "count",
    "items",
    "due",
    "sentAt",
    "label",
    "flag",
    *sorted(FUNCTION_NAMES),
]


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_any_text_compiles_or_raises_expression_error(source: str) -> None:
    _compile_or_refuse(source)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_compiles_or_raises_expression_error(source: str) -> None:
    _compile_or_refuse(source)


@given(st.text(alphabet=string.printable, max_size=40))
def test_printable_text_compiles_or_raises_expression_error(source: str) -> None:
    _compile_or_refuse(source)


def _compile_or_refuse(source: str) -> None:
    for scope in (SCOPE, Scope(response=True)):
        position = -1
        try:
            expression = compile_expression(source, scope)
        except ExpressionError as problem:
            position = problem.position
        else:
            expression.evaluate(context())
            continue
        assert 0 <= position <= len(source)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**29), max_value=10**29)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=10)


@given(VALUES)
def test_printed_literals_round_trip(value: Any) -> None:
    assert compile_expression(literal(value), Scope()).evaluate(context()) == value


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
    )
)
def test_printed_instants_round_trip(value: datetime) -> None:
    value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    result = compile_expression(literal(value), Scope()).evaluate(context())
    assert datetime.fromisoformat(result) == value
    assert result == literal(value)[len('datetime("') : -2]


INTS = st.integers(min_value=-(10**12), max_value=10**12)


@given(INTS, INTS, st.sampled_from(["+", "-", "*", "%", "/"]))
def test_integer_arithmetic_agrees_with_python(a: int, b: int, op: str) -> None:
    scope = Scope(variables={"a": ValueType.integer, "b": ValueType.integer})
    got = compile_expression(f"a {op} b", scope).evaluate(_numbers(a, b))
    literal_got = compile_expression(f"{a} {op} {b}", scope).evaluate(_numbers(a, b))
    expected: Any
    if op in "%/" and b == 0:
        expected = None
    else:
        expected = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__, "%": int.__mod__}.get(
            op, int.__truediv__
        )(a, b)
    assert got == expected
    assert literal_got == expected


@given(INTS, INTS, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
def test_integer_comparisons_agree_with_python(a: int, b: int, op: str) -> None:
    scope = Scope(variables={"a": ValueType.integer, "b": ValueType.integer})
    got = compile_expression(f"a {op} b", scope).evaluate(_numbers(a, b))
    expected = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
    assert got is expected[op]


def _numbers(a: int, b: int) -> EvalContext:
    return EvalContext({"a": a, "b": b}, {}, None, datetime(2026, 1, 5, tzinfo=UTC))


ATOMS = [
    "count",
    "cartValue",
    "label",
    "flag",
    "due",
    "sentAt",
    "items",
    "person.firstName",
    "person.loyaltyPoints",
    "person.tags",
    "event.cartValue",
    "event.at",
    "null",
    "true",
    "1",
    "0",
    "-2",
    "2.5",
    '"a"',
    '""',
    '"days"',
    '"months"',
    "[1, 2]",
    "[]",
    "now()",
    "today()",
    '"2026-01-31"',
]
OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "and", "or", "in"]


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(OPERATORS), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    unary = st.tuples(st.sampled_from(["-", "not "]), children).map(lambda t: f"{t[0]}({t[1]})")
    call = st.tuples(
        st.sampled_from(sorted(FUNCTION_NAMES - {"clicked", "delivered", "seen", "failed"})),
        st.lists(children, max_size=3),
    ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    return binary | unary | call


EXPRESSIONS = st.recursive(st.sampled_from(ATOMS), _grow, max_leaves=8)
DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["2026-01-31", "2026-01-05T09:00:00Z", "x"]),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)
ZONES = st.sampled_from(["UTC", "Europe/Zagreb", "Pacific/Auckland", "America/St_Johns"])


@settings(max_examples=400)
@given(EXPRESSIONS, st.dictionaries(st.sampled_from(sorted(SCOPE.variables)), DATA), ZONES)
def test_generated_expressions_never_raise_and_fit_their_type(
    source: str, variables: dict[str, Any], zone: str
) -> None:
    try:
        expression = compile_expression(source, SCOPE)
    except ExpressionError:
        return
    typed = compile_expression(source, SCOPE)
    wellformed = typed.evaluate(context(timezone=zone))  # well-typed data
    if expression.type is not None and wellformed is not None:
        assert _fits(wellformed, expression.type), (source, wellformed)
    expression.evaluate(context(variables=variables, timezone=zone))  # any data: no raise


@settings(max_examples=200)
@given(EXPRESSIONS, ZONES)
def test_generated_conditions_give_true_or_false(source: str, zone: str) -> None:
    try:
        expression = compile_expression(source, SCOPE, expect=V.boolean)
    except ExpressionError:
        return
    assert expression.evaluate(context(timezone=zone)) in (True, False)


def _fits(value: Any, kind: ValueType) -> bool:
    if kind == ValueType.text:
        return isinstance(value, str)
    if kind == ValueType.decimal and isinstance(value, float):
        return math.isfinite(value)
    if kind == ValueType.integer:
        return type(value) is int
    try:
        return coerce(value, kind) == value
    except ValueError:
        return False
