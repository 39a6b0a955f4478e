"""Number functions, with round() rounding the decimal digits as written."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import compile_expression
from tidings.domain.expressions.functions.numbers import round_half_up

from .helpers import SCOPE, V, error, ev


@pytest.mark.parametrize(
    ("source", "value", "kind"),
    [
        ("round(2.5)", 3, V.integer),
        ("round(-2.5)", -3, V.integer),
        ("round(2.4)", 2, V.integer),
        ("round(2.675, 2)", 2.68, V.decimal),  # Python's round() gives 2.67
        ("round(1.005, 2)", 1.01, V.decimal),
        ("round(cartValue, 0)", 13, V.decimal),
        ("round(1234, -2)", 1200, V.decimal),
        ("round(1250, -2)", 1300, V.decimal),
        ("round(count)", 3, V.integer),
        ("round(count, 2)", 3, V.decimal),
        ("floor(2.7)", 2, V.integer),
        ("floor(-2.2)", -3, V.integer),
        ("ceil(2.1)", 3, V.integer),
        ("ceil(-2.7)", -2, V.integer),
        ("abs(-4)", 4, V.integer),
        ("abs(-4.5)", 4.5, V.decimal),
        ("min(3, 1, 2)", 1, V.integer),
        ("max(3, 1.5)", 3, V.decimal),
        ("max(count, null, 1)", 3, V.integer),
        ('min("b", "a")', "a", V.text),
        ('max(due, date("2026-02-01"))', "2026-02-01", V.date),
        ("min([4, 2, 8])", 2, None),
        ('max(["b", "c", "a"])', "c", None),
        ('max([1, "a"])', None, None),
        ("min([])", None, None),
        ("sum([1, 2, 3])", 6, V.decimal),
        ("sum([1.5, null, 2])", 3.5, V.decimal),
        ("sum(items)", None, V.decimal),
        ("sum([])", 0, V.decimal),
    ],
)
def test_number_functions(source: str, value: Any, kind: V | None) -> None:
    assert compile_expression(source, SCOPE).type == kind
    assert ev(source) == value


def test_null_arguments_give_null() -> None:
    for source in [
        "round(person.loyaltyPoints)",
        "floor(person.loyaltyPoints)",
        "abs(person.loyaltyPoints)",
        "min(person.loyaltyPoints)",
    ]:
        assert ev(source, person={}) is None


@pytest.mark.parametrize(
    ("value", "digits", "rounded"),
    [
        (0.125, 2, 0.13),
        (0.375, 2, 0.38),
        (-0.125, 2, -0.13),
        (1e300, 2, 1e300),
        (7, 0, 7),
        (1.23456789e-10, 12, 1.23e-10),
        (5, -1, 10),
        (2.5, 100, 2.5),
    ],
)
def test_round_half_up(value: float, digits: int, rounded: float) -> None:
    assert round_half_up(value, digits) == rounded


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ('round("1")', 6, "argument 1 of round must be a number, not text"),
        ("round(1.5, 1.5)", 11, "a whole number of digits"),
        ("floor(label)", 6, "must be a number"),
        ('min(1, "a")', 7, "must all have one type: found integer and text"),
        ("max(flag, flag)", 0, "max needs numbers, texts, dates or datetimes, not true/false"),
        ("sum(count)", 4, "a list of numbers"),
    ],
)
def test_argument_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position
