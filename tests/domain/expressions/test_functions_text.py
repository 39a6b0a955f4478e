"""Text and list functions."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import compile_expression

from .helpers import SCOPE, V, error, ev


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('concat("Hi ", person.firstName, "!")', "Hi Ana!"),
        ("concat(count, cartValue, flag, due, null)", "312.5true2026-01-31"),
        ('concat("a")', "a"),
        ("lower(person.country)", "hr"),
        ('upper("ana")', "ANA"),
        ('trim("  a b  ")', "a b"),
        ("length(person.firstName)", 3),
        ("length(person.tags)", 2),
        ('length("")', 0),
        ('substring("hello", 1, 3)', "ell"),
        ('substring("hello", 2)', "llo"),
        ('substring("hello", 3, 10)', "lo"),
        ('substring("hello", 9)', ""),
        ('substring("hello", -1)', None),
        ('substring("hello", 0, -1)', None),
        ('replace("a-b-c", "-", "+")', "a+b+c"),
        ('replace("abc", "", "x")', "abc"),
        ('startsWith(person.firstName, "An")', True),
        ('startsWith("abc", "b")', False),
        ('endsWith("report.pdf", ".pdf")', True),
        ('contains("hello", "ell")', True),
        ('contains("hello", "xyz")', False),
        ('contains(person.tags, "vip")', True),
        ("contains(items, 3)", True),
        ("contains(items, 4)", False),
        ('split("a,b,,c", ",")', ["a", "b", "", "c"]),
        ('split("abc", "")', ["a", "b", "c"]),
        ('join(person.tags, ", ")', "vip, buyer"),
        ("join(items)", "a, b, 3"),
        ('join([1, null, true], "/")', "1//true"),
    ],
)
def test_text_functions(source: str, value: Any) -> None:
    assert ev(source) == value


@pytest.mark.parametrize(
    "source",
    [
        "lower(person.firstName)",
        "length(person.firstName)",
        "substring(person.firstName, 1)",
        'replace(person.firstName, "a", "b")',
        'startsWith(person.firstName, "A")',
        'split(person.firstName, ",")',
        'join(person.tags, "-")',
    ],
)
def test_null_arguments_give_null(source: str) -> None:
    assert ev(source, person={}) is None


def test_concat_and_contains_never_give_null() -> None:
    assert ev('concat("Hi ", person.firstName)', person={}) == "Hi "
    assert ev('contains(person.tags, "vip")', person={}) is False


def test_replace_refuses_to_build_huge_texts() -> None:
    scope_text = '"' + "a" * 2000 + '"'
    assert ev(f'replace({scope_text}, "a", "{"b" * 600}")') is None


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("lower(5)", 6, "argument 1 of lower must be a text, not integer"),
        ("lower(count + 1)", 6, "argument 1 of lower must be a text, not integer"),
        ("lower(x(1) + 1)", 6, "unknown function 'x'"),
        ("length(count)", 7, "a text or a list"),
        ('substring("abc", "1")', 17, "argument 2 of substring must be a whole number"),
        ('substring("abc", 1.5)', 17, "whole number"),
        ('contains("abc", 1)', 16, "a text (to look for in a text)"),
        ("join(label)", 5, "must be a list"),
        ("lower()", 0, "lower takes 1 argument: lower(text); got 0"),
        ('lower("a", "b")', 0, "got 2"),
        ("concat()", 0, "at least 1 argument"),
        ("substring()", 0, "2 to 3 arguments"),
    ],
)
def test_argument_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


def test_result_types() -> None:
    assert compile_expression("length(items)", SCOPE).type == V.integer
    assert compile_expression('split("a", ",")', SCOPE).type == V.list
    assert compile_expression('startsWith("a", "a")', SCOPE).type == V.boolean
    assert compile_expression("concat(1)", SCOPE).type == V.text


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("size(items)", 3),
        ('size("hello")', 5),
        ("size([])", 0),
        ('includes(person.tags, "vip")', True),
        ('includes("hello", "ell")', True),
        ("includes(items, 4)", False),
        ("first(items)", "a"),
        ("last(items)", 3),
        ("first([])", None),
        ("last([])", None),
        ('first(person.tags) == "vip"', True),
        ("last(items) + 1", 4),
        ('indexOf("hello", "l")', 2),
        ('indexOf("hello", "z")', -1),
        ("indexOf(items, 3)", 2),
        ('indexOf(items, "3")', -1),
        ("indexOf([true, 1], 1)", 1),
        ('indexOf(items, "zz")', -1),
    ],
)
def test_list_functions(source: str, value: Any) -> None:
    assert ev(source) == value


@pytest.mark.parametrize(
    "source",
    ["size(person.tags)", "first(person.tags)", "last(person.tags)", 'indexOf(person.tags, "a")'],
)
def test_list_functions_of_null_give_null(source: str) -> None:
    assert ev(source, person={}) is None


def test_list_function_types_and_errors() -> None:
    assert compile_expression("size(items)", SCOPE).type == V.integer
    assert compile_expression("indexOf(items, 1)", SCOPE).type == V.integer
    assert compile_expression("first(items)", SCOPE).type is None  # items may be anything
    assert compile_expression("first(items)", SCOPE, expect=V.text).evaluate is not None
    assert "must be a list" in error('first("abc")').message
    assert "a text or a list" in error("size(count)").message
    assert "a text (to look for in a text)" in error('indexOf("abc", 1)').message
