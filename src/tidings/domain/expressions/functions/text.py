"""Texts and lists: concat, lower, upper, trim, length (size), substring, replace,
startsWith, endsWith, indexOf, contains (includes), split, join, first and last."""

from __future__ import annotations

from typing import Any

from tidings.domain.expressions.functions.base import Function, argument, plain
from tidings.domain.expressions.kinds import ANY, BOOLEAN, INTEGER, LIST, TEXT, Typed
from tidings.domain.expressions.nodes import Call
from tidings.domain.expressions.runtime import EvalContext, member, to_text

_TEXT = frozenset({TEXT})
_INTEGER = frozenset({INTEGER})
_TEXT_OR_LIST = frozenset({TEXT, LIST})
MAX_RESULT = 1_000_000  # characters a text function may build


def _concat(call: Call, args: list[Typed]) -> Typed:
    fns = [arg.fn for arg in args]

    def run(ctx: EvalContext) -> str:
        return "".join(to_text(fn(ctx)) or "" for fn in fns)

    return Typed(run, TEXT, call.pos, never_null=True)


def _text_to_text(name: str, impl: Any) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        return plain(call, [argument(call, 0, args[0], _TEXT, "a text")], TEXT, impl)

    return Function(name, "text", 1, 1, build)


def _length(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], _TEXT_OR_LIST, "a text or a list")
    return plain(call, [value], INTEGER, _sized_length)


def _index_of(call: Call, args: list[Typed]) -> Typed:
    haystack = argument(call, 0, args[0], _TEXT_OR_LIST, "a text or a list")
    needle = args[1]
    if haystack.ty == TEXT:
        needle = argument(call, 1, needle, _TEXT, "a text (to look for in a text)")
        return plain(call, [haystack, needle], INTEGER, _text_index)
    return plain(call, [haystack, needle], INTEGER, _position)


def _text_index(text: Any, part: Any) -> int | None:
    return text.find(part) if isinstance(text, str) and isinstance(part, str) else None


def _position(haystack: Any, needle: Any) -> int | None:
    """0-based place of `needle` in a list (by value, true is not 1) or a text; -1 if absent."""
    if isinstance(haystack, str):
        return _text_index(haystack, needle)
    if not isinstance(haystack, list):
        return None
    for index, item in enumerate(haystack):
        if member(needle, [item]):
            return index
    return -1


def _end(name: str, index: int) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        items = argument(call, 0, args[0], frozenset({LIST}), "a list")

        def pick(values: Any) -> Any:
            return values[index] if isinstance(values, list) and values else None

        return plain(call, [items], ANY, pick)

    return Function(name, "list", 1, 1, build)


def _sized_length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list) else None


def _substring(call: Call, args: list[Typed]) -> Typed:
    text = argument(call, 0, args[0], _TEXT, "a text")
    start = argument(call, 1, args[1], _INTEGER, "a whole number (0 is the first character)")
    if len(args) == 2:
        return plain(call, [text, start], TEXT, _tail)
    length = argument(call, 2, args[2], _INTEGER, "a whole number of characters")
    return plain(call, [text, start, length], TEXT, _slice)


def _tail(text: str, start: int) -> str | None:
    return text[start:] if start >= 0 else None


def _slice(text: str, start: int, length: int) -> str | None:
    return text[start : start + length] if start >= 0 and length >= 0 else None


def _replace(call: Call, args: list[Typed]) -> Typed:
    typed = [argument(call, i, arg, _TEXT, "a text") for i, arg in enumerate(args)]
    return plain(call, typed, TEXT, _replaced)


def _replaced(text: str, old: str, new: str) -> str | None:
    if not old:
        return text
    if len(new) > len(old) and text.count(old) * (len(new) - len(old)) + len(text) > MAX_RESULT:
        return None
    return text.replace(old, new)


def _text_test(name: str, impl: Any) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        typed = [argument(call, i, arg, _TEXT, "a text") for i, arg in enumerate(args)]
        return plain(call, typed, BOOLEAN, impl)

    return Function(name, "text, part", 2, 2, build)


def _contains(call: Call, args: list[Typed]) -> Typed:
    haystack = argument(call, 0, args[0], _TEXT_OR_LIST, "a text or a list")
    needle = args[1]
    if haystack.ty == TEXT:
        needle = argument(call, 1, needle, _TEXT, "a text (to look for in a text)")
        return plain(call, [haystack, needle], BOOLEAN, str.__contains__)
    a, b = haystack.fn, needle.fn

    def run(ctx: EvalContext) -> bool:
        return member(b(ctx), a(ctx))

    return Typed(run, BOOLEAN, call.pos, never_null=True)


def _split(call: Call, args: list[Typed]) -> Typed:
    typed = [argument(call, i, arg, _TEXT, "a text") for i, arg in enumerate(args)]
    return plain(call, typed, LIST, _split_text)


def _split_text(text: str, separator: str) -> list[str]:
    return list(text) if not separator else text.split(separator)


def _join(call: Call, args: list[Typed]) -> Typed:
    items = argument(call, 0, args[0], frozenset({LIST}), "a list")
    separator = argument(call, 1, args[1], _TEXT, "a text") if len(args) > 1 else None
    a = items.fn
    b = separator.fn if separator is not None else None

    def run(ctx: EvalContext) -> str | None:
        values = a(ctx)
        sep = ", " if b is None else b(ctx)
        if values is None or sep is None:
            return None
        return sep.join(to_text(value) or "" for value in values)

    return Typed(run, TEXT, call.pos)


FUNCTIONS = [
    Function("concat", "value, ...", 1, None, _concat),
    _text_to_text("lower", str.lower),
    _text_to_text("upper", str.upper),
    _text_to_text("trim", str.strip),
    Function("length", "text or list", 1, 1, _length),
    Function("size", "text or list", 1, 1, _length),
    Function("substring", "text, start, length", 2, 3, _substring),
    Function("replace", "text, old, new", 3, 3, _replace),
    _text_test("startsWith", str.startswith),
    _text_test("endsWith", str.endswith),
    Function("contains", "text or list, value", 2, 2, _contains),
    Function("includes", "text or list, value", 2, 2, _contains),
    Function("indexOf", "text or list, value", 2, 2, _index_of),
    Function("split", "text, separator", 2, 2, _split),
    Function("join", "list, separator", 1, 2, _join),
    _end("first", 0),
    _end("last", -1),
]
