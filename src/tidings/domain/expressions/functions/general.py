"""Choice, nulls, conversion and message events: if, coalesce, isEmpty, toText,
toNumber, and clicked/delivered/seen/failed."""

from __future__ import annotations

from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.functions.base import Function, argument, literal_text, plain
from tidings.domain.expressions.kinds import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    TEXT,
    Typed,
    cast,
    unify,
)
from tidings.domain.expressions.nodes import Call
from tidings.domain.expressions.runtime import EvalContext, is_empty, to_number, to_text
from tidings.domain.expressions.scope import Scope, suggestions

MESSAGE_EVENTS = ("clicked", "delivered", "seen", "failed")


def _if(call: Call, args: list[Typed]) -> Typed:
    condition = argument(call, 0, args[0], frozenset({BOOLEAN}), "true or false")
    ty = unify(args[1:], "the two results of if")
    test, yes, no = condition.fn, cast(args[1], ty).fn, cast(args[2], ty).fn

    def run(ctx: EvalContext) -> Any:
        return yes(ctx) if test(ctx) is True else no(ctx)

    return Typed(run, ty, call.pos)


def _coalesce(call: Call, args: list[Typed]) -> Typed:
    ty = unify(args, "the arguments of coalesce")
    fns = [cast(arg, ty).fn for arg in args]
    if len(fns) == 2:
        first, second = fns

        def pair(ctx: EvalContext) -> Any:
            value = first(ctx)
            return second(ctx) if value is None else value

        return Typed(pair, ty, call.pos)

    def run(ctx: EvalContext) -> Any:
        for fn in fns:
            value = fn(ctx)
            if value is not None:
                return value
        return None

    return Typed(run, ty, call.pos)


def _is_empty(call: Call, args: list[Typed]) -> Typed:
    inner = args[0].fn

    def run(ctx: EvalContext) -> bool:
        return is_empty(inner(ctx))

    return Typed(run, BOOLEAN, call.pos, never_null=True)


def _to_text(call: Call, args: list[Typed]) -> Typed:
    return plain(call, args, TEXT, to_text)


def _to_number(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], frozenset({TEXT, INTEGER, DECIMAL}), "a text or number")
    return plain(call, [value], DECIMAL, to_number)


def _message_event(kind: str) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        element = literal_text(call, 0, args[0], "a send element's id")

        def run(ctx: EvalContext) -> bool:
            happened = ctx.message_events
            return happened is not None and happened(element, kind) is True

        return Typed(run, BOOLEAN, call.pos, never_null=True)

    return Function(kind, "elementId", 1, 1, build, check_scope=_known_element)


def _known_element(call: Call, args: list[Typed], scope: Scope) -> None:
    element = literal_text(call, 0, args[0], "a send element's id")
    known = scope.elements
    if element in known:
        return
    pos = args[0].pos
    if not known:
        raise ExpressionError(f"unknown element {element!r}: there is no send element", pos)
    close = suggestions(element, sorted(known))
    if close:
        hint = "did you mean " + " or ".join(repr(name) for name in close) + "?"
    else:
        hint = "send elements: " + ", ".join(sorted(known))
    raise ExpressionError(f"unknown element {element!r}; {hint}", pos)


FUNCTIONS = [
    Function("if", "condition, then, otherwise", 3, 3, _if),
    Function("coalesce", "value, fallback, ...", 1, None, _coalesce),
    Function("isEmpty", "value", 1, 1, _is_empty),
    Function("toText", "value", 1, 1, _to_text),
    Function("toNumber", "text", 1, 1, _to_number),
    *(_message_event(kind) for kind in MESSAGE_EVENTS),
]
