"""What a function is, and the helpers that check arguments and build closures.

A function checks its arguments' static types at compile time and returns one closure.
Most are "plain": each argument must be one of a few types, a null argument gives a
null result, and the work is a Python function of the argument values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.kinds import (
    ANY,
    DECIMAL,
    INTEGER,
    NULL,
    NUMERIC,
    Ty,
    Typed,
    cast,
    describe,
)
from tidings.domain.expressions.nodes import Call
from tidings.domain.expressions.runtime import EvalContext, Fn
from tidings.domain.expressions.scope import Scope

Builder = Callable[[Call, list[Typed]], Typed]
ScopeCheck = Callable[[Call, list[Typed], Scope], None]


@dataclass(frozen=True)
class Function:
    """A function callable from expressions, as documented in docs/expressions.md."""

    name: str
    params: str  # how the arguments read in messages: "date, amount, unit"
    min_args: int
    max_args: int | None  # None: any number
    build: Builder
    check_scope: ScopeCheck | None = None  # for arguments that name things in the scope

    @property
    def signature(self) -> str:
        return f"{self.name}({self.params})"

    def compile(self, call: Call, args: list[Typed], scope: Scope) -> Typed:
        count = len(args)
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            if self.max_args is None:
                wanted = f"at least {self.min_args} argument{'s' * (self.min_args != 1)}"
            elif self.min_args == self.max_args:
                wanted = f"{self.min_args} argument{'s' * (self.min_args != 1)}"
            else:
                wanted = f"{self.min_args} to {self.max_args} arguments"
            raise ExpressionError(
                f"{self.name} takes {wanted}: {self.signature}; got {count}", call.pos
            )
        if self.check_scope is not None:
            self.check_scope(call, args, scope)
        return self.build(call, args)


def argument(call: Call, index: int, typed: Typed, accepted: frozenset[Ty], what: str) -> Typed:
    """Check argument `index` (0-based) against `accepted`; any is cast to the first fit."""
    if typed.ty in accepted:
        return typed
    if typed.ty in (ANY, NULL):
        target = _representative(accepted)
        return typed if target is None else cast(typed, target)
    if typed.ty == INTEGER and DECIMAL in accepted:
        return cast(typed, DECIMAL)
    raise ExpressionError(
        f"argument {index + 1} of {call.name} must be {what}, not {describe(typed.ty)}",
        typed.pos,
    )


def _representative(accepted: frozenset[Ty]) -> Ty | None:
    """The type an any-value is checked as when a parameter accepts `accepted`."""
    if len(accepted) == 1:
        return next(iter(accepted))
    if accepted <= NUMERIC:
        return DECIMAL
    return None  # several kinds accepted: the implementation checks at run time


def plain(
    call: Call,
    args: Sequence[Typed],
    result: Ty,
    impl: Callable[..., Any],
    *,
    with_ctx: bool = False,
) -> Typed:
    """A closure computing `impl(*values)`, or null when any value is null."""
    fns = [arg.fn for arg in args]
    run: Fn
    if with_ctx:
        run = _with_ctx(fns, impl)
    elif len(fns) == 1:
        (a,) = fns

        def run(ctx: EvalContext) -> Any:
            x = a(ctx)
            return None if x is None else impl(x)

    elif len(fns) == 2:
        a, b = fns

        def run(ctx: EvalContext) -> Any:
            x = a(ctx)
            if x is None:
                return None
            y = b(ctx)
            return None if y is None else impl(x, y)

    else:

        def run(ctx: EvalContext) -> Any:
            values = []
            for fn in fns:
                value = fn(ctx)
                if value is None:
                    return None
                values.append(value)
            return impl(*values)

    return Typed(run, result, call.pos)


def _with_ctx(fns: list[Fn], impl: Callable[..., Any]) -> Fn:
    def run(ctx: EvalContext) -> Any:
        values = []
        for fn in fns:
            value = fn(ctx)
            if value is None:
                return None
            values.append(value)
        return impl(ctx, *values)

    return run


def literal_text(call: Call, index: int, typed: Typed, what: str) -> str:
    """An argument that must be written as a quoted text, such as an element id."""
    if not typed.is_constant or not isinstance(typed.constant, str):
        raise ExpressionError(
            f"argument {index + 1} of {call.name} must be {what} written in quotes", typed.pos
        )
    return typed.constant
