"""Every operator: arithmetic, text and list joining, comparison, logic, membership,
with the null rules and the type errors."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import compile_expression

from .helpers import SCOPE, V, context, error, ev


@pytest.mark.parametrize(
    ("source", "value", "kind"),
    [
        ("count + 2", 5, V.integer),
        ("count - 5", -2, V.integer),
        ("count * 4", 12, V.integer),
        ("count / 2", 1.5, V.decimal),
        ("6 / 3", 2.0, V.decimal),
        ("count % 2", 1, V.integer),
        ("-7 % 3", 2, V.integer),  # as Python and spreadsheets: the sign of the divisor
        ("cartValue + 1", 13.5, V.decimal),
        ("cartValue * count", 37.5, V.decimal),
        ("cartValue - count", 9.5, V.decimal),
        ("5.5 % 2", 1.5, V.decimal),
        ("-cartValue", -12.5, V.decimal),
        ("-count", -3, V.integer),
        ("99999999999999999999 * 10", 999999999999999999990, V.integer),
    ],
)
def test_arithmetic(source: str, value: Any, kind: V) -> None:
    assert compile_expression(source, SCOPE).type == kind
    assert ev(source) == value


@pytest.mark.parametrize(
    "source", ["count / 0", "count % 0", "cartValue / 0.0", "count + person.loyaltyPoints"]
)
def test_arithmetic_without_a_result_is_null(source: str) -> None:
    assert ev(source, person={}) is None


def test_decimal_overflow_is_null() -> None:
    assert ev("1e308 * 10") is None
    assert ev("1e308 + 1e308") is None
    assert ev("-1e308 - 1e308") is None


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"Hi " + person.firstName', "Hi Ana"),
        ('label + "!"', "gold!"),
        ('"n=" + count', "n=3"),
        ('cartValue + " EUR"', "12.5 EUR"),
        ('"ok: " + flag', "ok: true"),
        ('"due " + due', "due 2026-01-31"),
        ('"at " + sentAt', "at 2026-01-05T09:00:00Z"),
    ],
)
def test_plus_joins_texts(source: str, value: Any) -> None:
    assert ev(source) == value


def test_plus_with_a_null_text_is_null() -> None:
    assert ev('"x" + null') is None
    assert ev('"Hi " + person.firstName', person={}) is None  # concat() reads null as ""


def test_plus_joins_lists() -> None:
    assert ev("[1] + [2, 3]") == [1, 2, 3]
    assert ev("items + person.tags") == ["a", "b", 3, "vip", "buyer"]
    assert compile_expression("[1] + null", SCOPE).type == V.list


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("flag + 1", 5, "cannot add true/false and integer"),
        ("due + 1", 4, "use dateAdd"),
        ("sentAt - sentAt", 7, "use dateAdd or dateDiff"),
        ("label - 1", 6, "cannot subtract text and integer"),
        ('"a" * 2', 4, "cannot multiply"),
        ("items / 2", 6, "cannot divide"),
        ("items + label", 0, "join(list, sep)"),
        ("items + 1", 6, "cannot add list and integer"),
        ("-label", 0, "cannot negate text"),
    ],
)
def test_arithmetic_type_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("count == 3", True),
        ("count == 3.0", True),
        ("count != 3", False),
        ("cartValue > 12", True),
        ("cartValue >= 12.5", True),
        ("cartValue < 12.5", False),
        ("count <= 3", True),
        ('label == "gold"', True),
        ('label < "silver"', True),
        ('"b" > "a"', True),
        ("flag == true", True),
        ("flag != false", True),
        ('due == date("2026-01-31")', True),
        ('due > date("2026-01-30")', True),
        ('sentAt < datetime("2026-01-05T10:00:00+01:00")', False),
        ('sentAt == datetime("2026-01-05T10:00:00+01:00")', True),
        ("event.at > sentAt", True),
        ('items == ["a", "b", 3]', True),
        ("[1, 2] != [1, 2]", False),
    ],
)
def test_comparisons(source: str, value: bool) -> None:
    assert ev(source) is value


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("person.loyaltyPoints == null", True),
        ("person.loyaltyPoints != null", False),
        ("null == null", True),
        ("person.loyaltyPoints == 0", False),
        ("person.loyaltyPoints != 0", True),
        ("person.loyaltyPoints > 0", False),
        ("person.loyaltyPoints <= 0", False),
        ("0 < person.loyaltyPoints", False),
        ("person.loyaltyPoints < null", False),
        ("person.loyaltyPoints + 1", None),
        ("person.loyaltyPoints * 2 > 1", False),
        ("-person.loyaltyPoints", None),
        ("person.optedOut", None),
        ("not person.optedOut", True),
        ("person.optedOut or true", True),
        ("person.optedOut and true", False),
        ("person.firstName in person.tags", False),
        ('"vip" in person.tags', False),
        ('person.firstName in "Ana"', False),
    ],
)
def test_null_rules(source: str, value: Any) -> None:
    assert ev(source, person={}) is value


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("person.country == 5", 15, "cannot compare text with integer"),
        ('5 < "5"', 2, "toNumber"),
        ("due == sentAt", 4, "date(x) or datetime(x)"),
        ("flag < true", 5, "cannot use < with true/false"),
        ("flag == 1", 5, "cannot compare true/false with integer"),
        ("items < items", 6, "cannot use < with list"),
        ("items > null", 6, "cannot use > with list"),
    ],
)
def test_comparison_type_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false or true", True),
        ("false || false", False),
        ("not true", False),
        ("!flag", False),
        ("flag && count > 1", True),
    ],
)
def test_logic(source: str, value: bool) -> None:
    assert ev(source) is value


def test_logic_short_circuits() -> None:
    calls: list[tuple[str, str]] = []

    def happened(element: str, kind: str) -> bool:
        calls.append((element, kind))
        return True

    assert ev('false and clicked("sms1")', message_events=happened) is False
    assert ev('true or clicked("sms1")', message_events=happened) is True
    assert calls == []


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("count and true", 0, "and needs true or false, not integer"),
        ("true or label", 8, "or needs true or false, not text"),
        ("true or count * 2", 8, "or needs true or false, not integer"),
        ("not items", 4, "not needs true or false, not list"),
    ],
)
def test_logic_type_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"vip" in person.tags', True),
        ('"gold" in person.tags', False),
        ("3 in items", True),
        ("3.0 in items", True),
        ("true in [1]", False),  # true is not 1
        ("1 in [true]", False),
        ('"an" in person.firstName', False),
        ('"An" in person.firstName', True),
        ('person.country in ["HR", "SI"]', True),
        ('person.country not in ["HR", "SI"]', False),
        ("due in [due]", True),
        ('due in ["2026-01-31"]', True),
        ('sentAt in ["2026-01-05T09:00:00Z"]', True),
        ("null in [null]", False),
        ("1 in null", False),
    ],
)
def test_membership(source: str, value: bool) -> None:
    assert ev(source) is value


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("1 in 5", 5, "a list or a text on its right"),
        ('1 in "abc"', 0, "needs a text on its left"),
        ("flag in label", 0, "needs a text on its left"),
    ],
)
def test_membership_type_errors(source: str, position: int, words: str) -> None:
    problem = error(source)
    assert words in problem.message
    assert problem.position == position


def test_values_of_the_wrong_declared_type_give_null_not_a_crash() -> None:
    ctx = context(variables={"count": "three", "cartValue": "x", "label": 5})
    assert compile_expression("count + 1", SCOPE).evaluate(ctx) is None
    assert compile_expression("cartValue > 1", SCOPE, expect=V.boolean).evaluate(ctx) is False
    assert compile_expression('label + "!"', SCOPE).evaluate(ctx) is None


def test_membership_in_a_written_list_of_texts() -> None:
    condition = 'person.country in ["HR", "SI", "RS"]'
    assert ev(condition) is True
    assert ev(condition, person={"country": "DE"}) is False
    assert ev(condition, person={}) is False
    assert ev('person.country in ["HR", 1]') is True
