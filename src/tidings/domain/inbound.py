"""Inbound messages: which ones an `inbound` entry takes, and how `evaluate_inbound`
reads one.

An inbound message (SMS, WhatsApp, Viber) to one of the account's numbers is the person's
standard event `message.received`, with the properties `channel`, `from`, `to`, `text`
and `keyword` (the first word of the text, upper-cased). Numbers come normalised: a phone
number in E.164 with a leading "+", an alphanumeric sender as given.

    match = InboundMatch.of("sms", "385991234567", "join")
    match.matches({"channel": "sms", "to": "+385991234567", "text": "Join me"})  # True

- Numbers are compared by `normal_number`: a phone number (digits, with or without a
  leading "+", spaces, dashes, dots or brackets between them) by its digits; anything
  else (an alphanumeric sender) exactly, but in any case.
- A keyword is one word, compared in any case with the message's first word
  (`keyword_of`: its `keyword` property, else the first word of its text). An entry
  without a keyword takes any message to its number but an opt-out (`OPT_OUT`: STOP...).
- Regular expressions (`evaluate_inbound`) are RE2's (google-re2), searched in the first
  `MAX_TEXT` characters of the text: RE2 runs in time linear in the text, so a pattern
  cannot make a message someone sends stall a step (Python's `re` backtracks: `(a+)+$`
  on 1,600 crafted characters never ends). A pattern over `MAX_PATTERN` characters, or
  one RE2 does not take (backreferences, lookarounds), is refused at validation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import re2

EVENT: Final = "message.received"
MAX_TEXT: Final = 1600  # characters of a message a regular expression searches
MAX_PATTERN: Final = 200  # characters of a regular expression

# Opt-out words: such a message unsubscribes its sender (services/inbound.py) and enters
# no flow that takes "any message" (a flow with that keyword still takes it).
OPT_OUT: Final = frozenset({"stop", "stopall", "unsubscribe", "end", "quit", "cancel", "optout"})
_SEPARATORS: Final = re.compile(r"[\s\-().]")
_PHONE: Final = re.compile(r"\+?[0-9]+")


def normal_number(number: str) -> str:
    """The form in which two numbers are compared: a phone number's digits (no "+",
    no separators), or an alphanumeric sender case-folded."""
    text = number.strip()
    compact = _SEPARATORS.sub("", text)
    if compact and _PHONE.fullmatch(compact):
        return compact.lstrip("+")
    return text.casefold()


def first_word(text: str) -> str | None:
    """The first word of `text` (split on white space); None for a blank text."""
    words = text.split(maxsplit=1)
    return words[0] if words else None


def keyword_of(message: Mapping[str, Any]) -> str | None:
    """A message's keyword, case-folded: its `keyword` property when it has one, else
    the first word of its `text`; None when it has neither."""
    keyword = message.get("keyword")
    if isinstance(keyword, str) and keyword.strip():
        return keyword.strip().casefold()
    text = message.get("text")
    word = first_word(text) if isinstance(text, str) else None
    return word.casefold() if word is not None else None


@dataclass(frozen=True)
class InboundMatch:
    """Which `message.received` events an `inbound` entry takes: those on `channel` to
    `number` (normalised) and, when it has a `keyword` (case-folded), starting with it."""

    channel: str
    number: str
    keyword: str | None

    @classmethod
    def of(cls, channel: str | None, number: str | None, keyword: str | None) -> InboundMatch:
        """The match of an entry's fields; an entry without a channel or a number (which
        validation refuses) takes nothing."""
        word = keyword.strip().casefold() if keyword is not None and keyword.strip() else None
        return cls(
            channel=(channel or "").casefold(),
            number=normal_number(number) if number and number.strip() else "",
            keyword=word,
        )

    def matches(self, message: Mapping[str, Any]) -> bool:
        """Whether the properties of a `message.received` event are a message this entry
        takes."""
        if not self.channel or not self.number:
            return False
        channel, to = message.get("channel"), message.get("to")
        if not isinstance(channel, str) or channel.casefold() != self.channel:
            return False
        if not isinstance(to, str) or normal_number(to) != self.number:
            return False
        word = keyword_of(message)
        if self.keyword is None:
            return word not in OPT_OUT
        return word == self.keyword


def searched(text: str) -> str:
    """The part of a message's text a regular expression searches."""
    return text[:MAX_TEXT]


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is a validation problem, not a log line
    return options


_OPTIONS: Final = _options()


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a branch's regular expression; None when it can."""
    compiled = compile_pattern(pattern)
    return compiled if isinstance(compiled, str) else None


def compile_pattern(pattern: str) -> re2._Regexp[str] | str:
    """The compiled pattern, or why it is refused.

    Patterns are RE2's (Python's `re` syntax but for backreferences and lookarounds):
    RE2 matches in time linear in the text, so no pattern, however written, lets a
    message someone sends stall a step, which backtracking `re` cannot promise."""
    if len(pattern) > MAX_PATTERN:
        return f"is longer than {MAX_PATTERN} characters"
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        first = exc.args[0] if exc.args else "not valid"
        reason = first.decode(errors="replace") if isinstance(first, bytes) else str(first)
        return (
            f"is not a regular expression Tidings can run ({reason}); backreferences and "
            "lookarounds are not supported"
        )
