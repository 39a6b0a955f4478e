"""Literals, operator precedence and syntax errors, each with its position."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import Scope, compile_expression
from tidings.domain.expressions.errors import MAX_DEPTH, MAX_SOURCE

from .helpers import V, error, ev

EMPTY = Scope()


@pytest.mark.parametrize(
    ("source", "value", "kind"),
    [
        ("42", 42, V.integer),
        ("-42", -42, V.integer),
        ("4.5", 4.5, V.decimal),
        ("1e3", 1000.0, V.decimal),
        ("2.5E-1", 0.25, V.decimal),
        ("'single'", "single", V.text),
        ('"double"', "double", V.text),
        (r'"tab\there"', "tab\there", V.text),
        (r'"quote \" inside"', 'quote " inside', V.text),
        (r"'it\'s'", "it's", V.text),
        (r'"back\\slash"', "back\\slash", V.text),
        (r'"\u00e9t\u00E9"', "été", V.text),
        (r'"a\nb\rc\/"', "a\nb\rc/", V.text),
        ('"it\'s"', "it's", V.text),
        ("true", True, V.boolean),
        ("false", False, V.boolean),
        ("[1, 'a', true, null]", [1, "a", True, None], V.list),
        ("[1, 2,]", [1, 2], V.list),
        ("[]", [], V.list),
        ("  7  ", 7, V.integer),
    ],
)
def test_literals(source: str, value: Any, kind: V) -> None:
    expression = compile_expression(source, EMPTY)
    assert expression.type == kind
    assert ev(source, EMPTY) == value


def test_null_literal_has_no_type() -> None:
    expression = compile_expression("null", EMPTY)
    assert expression.type is None
    assert ev("null", EMPTY) is None


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("24 / 4 / 2", 3.0),
        ("7 % 4 * 2", 6),
        ("-2 * 3", -6),
        ("- (2 + 3)", -5),
        ("2 - -3", 5),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not false and false", False),
        ("not 1 == 2", True),
        ("!(1 == 2)", True),
        ("1 < 2 and 2 < 3", True),
        ("1 + 1 == 2", True),
        ("true && !false || false", True),
        ('"a" in "cat" and 1 in [1]', True),
        ("2 not in [1, 3]", True),
        ('"x" not in "abc"', True),
    ],
)
def test_precedence(source: str, value: Any) -> None:
    assert ev(source, EMPTY) == value


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("1 +", 3, "ends too early"),
        ("1 + * 2", 4, "a value is expected"),
        ("(1 + 2", 6, "to close"),
        ("1 + 2)", 5, "closes nothing"),
        ("[1, 2", 5, "in the list"),
        ("concat(1 2)", 9, "in the arguments"),
        ("1 2", 2, "expected an operator"),
        ('"open', 0, "not closed"),
        ("'open", 0, "not closed"),
        (r'"bad \q escape"', 5, "unknown escape"),
        (r'"\u12"', 1, "four hex digits"),
        ("a = 1", 2, "use =="),
        ("a & b", 2, "and"),
        ("a | b", 2, "or"),
        ("2 ^ 3", 2, "power"),
        ("a ? b : c", 2, "if("),
        ("{}", 0, "objects"),
        ("1 < 2 < 3", 6, "two values at a time"),
        ("1 == 1 != true", 7, "two values at a time"),
        ("12abc", 2, "after a number"),
        ("1.", 1, "after a number"),
        ("1.5.2", 3, "after a number"),
        ("()", 0, "empty parentheses"),
        ("and", 0, "a value is expected"),
        ("x.", 2, "field name"),
        ("person.", 7, "field name"),
        ("person.1", 7, "field name"),
        ("'a'.b", 3, "use functions"),
        ('"".join([])', 2, "use functions"),
        ("(1)(2)", 3, "only functions can be called"),
        ("person.name()", 11, "only functions"),
        ("1" * 31, 0, "more than 30 digits"),
        ("1e400", 0, "out of range"),
        ("€", 0, "unexpected character"),
        ("5 @ 2", 2, "unexpected character"),
    ],
)
def test_syntax_errors_point_at_the_mistake(source: str, position: int, words: str) -> None:
    problem = error(source, EMPTY)
    assert words in problem.message
    assert problem.position == position
    assert str(problem) == f"{problem.message} (at column {position + 1})"


def test_expression_error_is_a_value_error_that_pickles() -> None:
    import pickle

    problem = error("1 +", EMPTY)
    assert isinstance(problem, ValueError)
    copy = pickle.loads(pickle.dumps(problem))
    assert (copy.message, copy.position) == (problem.message, problem.position)


def test_limits_keep_compilation_bounded() -> None:
    assert "longer than" in error("1" + " " * MAX_SOURCE, EMPTY).message
    assert "nested" in error("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), EMPTY).message
    assert "nested" in error("1" + " + 1" * (MAX_DEPTH + 1), EMPTY).message
    assert "nested" in error("-" * (MAX_DEPTH + 2) + "x", EMPTY).message
    assert "nested" in error("not " * (MAX_DEPTH + 2) + "true", EMPTY).message
    deep = "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1)
    assert ev(deep, EMPTY) == 1


def test_keywords_may_be_field_names() -> None:
    scope = Scope(event={"in": V.text, "not": V.boolean})
    assert ev("event.in", scope, event={"in": "x", "not": True}) == "x"
    assert ev("event.not", scope, event={"in": "x", "not": True}) is True
