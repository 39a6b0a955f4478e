"""if, coalesce, isEmpty, toText, toNumber and the message-event functions."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import Scope, compile_expression

from .helpers import SCOPE, V, error, ev


@pytest.mark.parametrize(
    ("source", "value", "kind"),
    [
        ('if(cartValue > 10, "big", "small")', "big", V.text),
        ('if(cartValue > 100, "big", "small")', "small", V.text),
        ("if(flag, count, cartValue)", 3, V.decimal),
        ("if(person.optedOut, 1, 2)", 2, V.integer),
        ("if(true, null, 5)", None, V.integer),
        ("if(false, due, null)", None, V.date),
        ("coalesce(person.loyaltyPoints, 0)", 120, V.integer),
        ("coalesce(null, null, 7)", 7, V.integer),
        ("coalesce(null, 1.5)", 1.5, V.decimal),
        ("coalesce(null)", None, None),
        ('coalesce(person.firstName, "there")', "Ana", V.text),
        ("isEmpty(null)", True, V.boolean),
        ('isEmpty("")', True, V.boolean),
        ("isEmpty([])", True, V.boolean),
        ('isEmpty(" ")', False, V.boolean),
        ("isEmpty(0)", False, V.boolean),
        ("isEmpty(person.tags)", False, V.boolean),
        ("toText(3)", "3", V.text),
        ("toText(3.0)", "3", V.text),
        ("toText(0.1)", "0.1", V.text),
        ("toText(1e20)", "1e+20", V.text),
        ("toText(true)", "true", V.text),
        ("toText(due)", "2026-01-31", V.text),
        ("toText(sentAt)", "2026-01-05T09:00:00Z", V.text),
        ('toText(["a", 1])', '["a", 1]', V.text),
        ("toText(null)", None, V.text),
        ('toNumber("12")', 12, V.decimal),
        ('toNumber(" 12.50 ")', 12.5, V.decimal),
        ('toNumber("1e3")', 1000.0, V.decimal),
        ('toNumber("abc")', None, V.decimal),
        ('toNumber("")', None, V.decimal),
        ('toNumber("inf")', None, V.decimal),
        ("toNumber(7)", 7, V.decimal),
    ],
)
def test_general_functions(source: str, value: Any, kind: V | None) -> None:
    assert compile_expression(source, SCOPE).type == kind
    assert ev(source) == value


def test_if_and_coalesce_evaluate_only_what_they_need() -> None:
    asked: list[str] = []

    def happened(element: str, kind: str) -> bool:
        asked.append(kind)
        return True

    assert ev('if(true, 1, if(clicked("sms1"), 2, 3))', message_events=happened) == 1
    assert ev('coalesce(1, if(seen("sms1"), 2, 3))', message_events=happened) == 1
    assert asked == []


def test_coalesce_gives_defaults_for_missing_people_data() -> None:
    assert ev('concat("Hi ", coalesce(person.firstName, "there"))', person={}) == "Hi there"


@pytest.mark.parametrize("kind", ["clicked", "delivered", "seen", "failed"])
def test_message_events_ask_the_context(kind: str) -> None:
    asked: list[tuple[str, str]] = []

    def happened(element: str, event: str) -> bool:
        asked.append((element, event))
        return element == "sms1" and event == kind

    assert ev(f'{kind}("sms1")', message_events=happened) is True
    assert ev(f'{kind}("email1")', message_events=happened) is False
    assert asked == [("sms1", kind), ("email1", kind)]
    assert ev(f'{kind}("sms1")') is False  # no message events known: nothing happened
    expression = compile_expression(f'{kind}("sms1") or {kind}("email1")', SCOPE)
    assert expression.elements == {"sms1", "email1"}


@pytest.mark.parametrize(
    ("source", "scope", "position", "words"),
    [
        ('clicked("sms2")', SCOPE, 8, "unknown element 'sms2'; did you mean 'sms1'?"),
        ('clicked("push9")', SCOPE, 8, "send elements: email1, sms1"),
        ('clicked("sms1")', Scope(), 8, "there is no send element"),
        ("clicked(label)", SCOPE, 8, "a send element's id written in quotes"),
        ('clicked("sms1", "sms2")', SCOPE, 0, "clicked takes 1 argument"),
        ("if(count, 1, 2)", SCOPE, 3, "argument 1 of if must be true or false"),
        ('if(flag, 1, "a")', SCOPE, 12, "the two results of if must all have one type"),
        ('coalesce(1, "a")', SCOPE, 12, "found integer and text"),
        ("toNumber(flag)", SCOPE, 9, "a text or number"),
        ("if(flag, 1)", SCOPE, 0, "if takes 3 arguments: if(condition, then, otherwise)"),
    ],
)
def test_errors(source: str, scope: Scope, position: int, words: str) -> None:
    problem = error(source, scope)
    assert words in problem.message
    assert problem.position == position
