"""Tokens of the expression language, each with the 0-based offset where it starts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from tidings.domain.expressions.errors import MAX_NUMBER_DIGITS, MAX_SOURCE, ExpressionError
from tidings.domain.expressions.literals import ESCAPES

Kind = Literal["integer", "decimal", "text", "name", "op", "end"]

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the operator or name as written; for literals, the source text
    pos: int
    value: int | float | str | None = None  # the literal's value

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops

    def is_word(self, *words: str) -> bool:
        return self.kind == "name" and self.text in words

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        if self.kind == "text":
            return "a text"
        if self.kind in ("integer", "decimal"):
            return f"the number {self.text}"
        return repr(self.text)


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR = re.compile(r"==|!=|<=|>=|&&|\|\||[-+*/%<>!(),.\[\]]")
_HINTS = {
    "=": "use == to compare",
    "&": "use and (or &&)",
    "|": "use or (or ||)",
    "{": "objects are not supported; use lists such as [1, 2]",
    "^": "there is no power operator; multiply instead",
    "?": "use if(condition, a, b)",
}


def tokenize(source: str) -> list[Token]:
    """Split `source` into tokens, ending with one `end` token; raise ExpressionError."""
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"expression is longer than {MAX_SOURCE} characters", MAX_SOURCE)
    tokens: list[Token] = []
    pos = 0
    size = len(source)
    while pos < size:
        char = source[pos]
        if match := _SPACE.match(source, pos):
            pos = match.end()
        elif char in "\"'":
            token, pos = _text(source, pos)
            tokens.append(token)
        elif match := _NUMBER.match(source, pos):
            tokens.append(_number(match.group(), pos))
            pos = match.end()
            if pos < size and (source[pos].isalnum() or source[pos] in "_."):
                raise ExpressionError(f"unexpected {source[pos]!r} after a number", pos)
        elif match := _NAME.match(source, pos):
            tokens.append(Token("name", match.group(), pos))
            pos = match.end()
        elif match := _OPERATOR.match(source, pos):
            tokens.append(Token("op", match.group(), pos))
            pos = match.end()
        else:
            hint = _HINTS.get(char)
            raise ExpressionError(
                f"unexpected character {char!r}" + (f": {hint}" if hint else ""), pos
            )
    tokens.append(Token("end", "", size))
    return tokens


def _number(text: str, pos: int) -> Token:
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_NUMBER_DIGITS:
        raise ExpressionError(f"number has more than {MAX_NUMBER_DIGITS} digits", pos)
    if "." not in text and "e" not in text and "E" not in text:
        return Token("integer", text, pos, int(text))
    value = float(text)
    if not math.isfinite(value):
        raise ExpressionError("number is out of range", pos)
    return Token("decimal", text, pos, value)


def _text(source: str, start: int) -> tuple[Token, int]:
    """A quoted text starting at `start`; returns the token and the offset after it."""
    quote = source[start]
    out: list[str] = []
    pos = start + 1
    while True:
        end = source.find(quote, pos)
        slash = source.find("\\", pos, end if end >= 0 else len(source))
        if end < 0 and slash < 0:
            raise ExpressionError(f"text is not closed: add a closing {quote}", start)
        if slash < 0:
            out.append(source[pos:end])
            pos = end + 1
            break
        out.append(source[pos:slash])
        pos = _escape(source, slash, out)
    return Token("text", source[start:pos], start, "".join(out)), pos


def _escape(source: str, slash: int, out: list[str]) -> int:
    """Append the character the escape at `slash` stands for; return the offset after it."""
    code = source[slash + 1 : slash + 2]
    if code in ESCAPES:
        out.append(ESCAPES[code])
        return slash + 2
    if code == "u":
        digits = source[slash + 2 : slash + 6]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            out.append(chr(int(digits, 16)))
            return slash + 6
        raise ExpressionError("\\u must be followed by four hex digits", slash)
    raise ExpressionError("unknown escape: use \\\\, \\\", \\', \\n, \\r, \\t or \\uXXXX", slash)
