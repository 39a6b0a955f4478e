"""domain/inbound.py: which messages an inbound entry takes, keywords, and the guard on
evaluate_inbound's regular expressions."""

from __future__ import annotations

import pytest

from tidings.domain.inbound import (
    MAX_PATTERN,
    InboundMatch,
    compile_pattern,
    keyword_of,
    normal_number,
    pattern_problem,
    searched,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("+385991234567", "385991234567"),
        ("+385 99 123-4567", "385991234567"),
        (" (385) 99.123.4567 ", "+385991234567"),
        ("ShopCo", "shopco"),
        ("Shop Co", "shop co"),
    ],
)
def test_the_same_number(a: str, b: str) -> None:
    assert normal_number(a) == normal_number(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("+385991234567", "385991234568"), ("ShopCo", "Shop"), ("Shop1", "Shop 1"), ("12", "+1 2a")],
)
def test_other_numbers(a: str, b: str) -> None:
    assert normal_number(a) != normal_number(b)


def test_the_keyword_is_the_property_else_the_first_word() -> None:
    assert keyword_of({"keyword": "JOIN", "text": "stop"}) == "join"
    assert keyword_of({"text": "  Join\tnow"}) == "join"
    assert keyword_of({"text": "   "}) is None
    assert keyword_of({}) is None


MESSAGE = {"channel": "sms", "from": "+385911", "to": "+385991234567", "text": "Join now"}


def test_an_entry_takes_its_channel_number_and_keyword() -> None:
    match = InboundMatch.of("sms", "385 99 123 4567", "join")
    assert match.matches(MESSAGE)
    assert match.matches(MESSAGE | {"keyword": "JOIN", "text": "whatever"})
    assert not match.matches(MESSAGE | {"text": "Joining"})
    assert not match.matches(MESSAGE | {"channel": "whatsapp"})
    assert not match.matches(MESSAGE | {"to": "+385991234568"})
    assert not match.matches({"text": "join"})  # no channel, no number
    anything = InboundMatch.of("sms", "+385991234567", None)
    assert anything.matches(MESSAGE | {"text": ""})
    assert not InboundMatch.of(None, "+385991234567", None).matches(MESSAGE)
    sender = InboundMatch.of("viber", "ShopCo", None)
    assert sender.matches(MESSAGE | {"channel": "viber", "to": "SHOPCO"})


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("(a+)+$", "a" * 1599 + "b", False),
        ("\\d*\\d*x", "1" * 1600, False),
        (".*\\d+$", "1" * 1599 + "x", False),
        ("(?:\\w+\\s?)*x", "ab " * 530, False),
        ("(a|ab)*c", "ab" * 800, False),
        ("^\\S+@\\S+\\.\\S+$", "a@" * 800, False),
        ("(a+)+$", "aaaa", True),
    ],
)
def test_patterns_that_backtrack_for_ever_in_re_answer_at_once(
    pattern: str, text: str, found: bool
) -> None:
    """Patterns whose time grows exponentially (or as a high power) with the text in
    Python's `re`, on texts crafted against them: RE2 answers in linear time (under `re`
    these searches do not end), so anyone who texts the number cannot stall a step."""
    compiled = compile_pattern(pattern)
    assert not isinstance(compiled, str), compiled
    assert (compiled.search(searched(text)) is not None) is found


@pytest.mark.parametrize(
    "pattern",
    [
        "^yes\\b",
        "(?i)^(yes|y)\\b",
        "(?:abc)+",
        "(\\d{1,3}\\.){3}\\d{1,3}",
        "(?:\\s|,)+",
        "[(]+a+\\)+",
        "\\(a+\\)+",
        "(x{2})+",
        "a{,3}",
        ".*a.*",
        "\\d+\\s*\\d+",
        "^\\s*(yes|y)\\s*$",
        "\\b\\d{4}\\b",
        "code:\\s*(\\w+)",
        "\\w+@\\w+\\.\\w+",
        "[A-Z]{2}\\d+",
        "\\x41+b",
        "(\\d+,)+",
        "^(?:\\s*\\w+,)+$",
        "(?:\\s+y)*z",
    ],
)
def test_plain_patterns_pass(pattern: str) -> None:
    assert pattern_problem(pattern) is None, pattern


def test_long_and_invalid_patterns_are_refused() -> None:
    assert pattern_problem("a" * MAX_PATTERN) is None
    assert pattern_problem("a" * (MAX_PATTERN + 1)) == f"is longer than {MAX_PATTERN} characters"
    for bad in ("((", "a{5,3}", "(a)\\1", "(?<=a)b", "(?=x)"):
        problem = pattern_problem(bad)
        assert problem is not None
        assert problem.startswith("is not a regular expression Tidings can run"), problem
