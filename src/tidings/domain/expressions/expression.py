"""A compiled expression, and `compile_expression`, the one way to make one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tidings.domain.expressions.compiler import Compiler
from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.kinds import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    LIST,
    NULL,
    TEXT,
    Ty,
    Typed,
    cast,
    describe,
    public,
)
from tidings.domain.expressions.nodes import start
from tidings.domain.expressions.operators import truth
from tidings.domain.expressions.parser import parse
from tidings.domain.expressions.runtime import EvalContext, externalize
from tidings.domain.expressions.scope import Scope
from tidings.domain.values import ValueType

# What bad data can raise inside an evaluation. Each becomes a null result.
DATA_ERRORS: Final = (ArithmeticError, TypeError, ValueError, LookupError, RecursionError)

_HINTS: dict[tuple[Ty, ValueType], str] = {
    (DECIMAL, INTEGER): "; use round(x), floor(x) or ceil(x)",
    (DATETIME, DATE): "; use date(x)",
    (DATE, DATETIME): "; use datetime(x)",
}


class Expression:
    """A compiled expression: reusable, thread-safe, and cheap to evaluate.

    `type` is the result type (None when only run time knows, as with `response.x`);
    `names` are the dotted names it reads (`cartValue`, `person.firstName`);
    `elements` are the send elements it asks about (`clicked("sms1")`).
    """

    __slots__ = ("_fallback", "_run", "elements", "names", "source", "type")

    def __init__(
        self,
        source: str,
        result_type: ValueType | None,
        names: frozenset[str],
        elements: frozenset[str],
        run: Callable[[EvalContext], Any],
        fallback: bool | None,
    ) -> None:
        self.source = source
        self.type = result_type
        self.names = names
        self.elements = elements
        self._run = run
        self._fallback = fallback

    def evaluate(self, ctx: EvalContext) -> Any:
        """The value in canonical form (`domain/values.py`), or None.

        Never raises on data: a missing name reads as null, and an operation that
        cannot be done on the data at hand (division by zero, a text that is no date,
        a value of another type than declared) gives null. An expression compiled with
        `expect=boolean` always gives True or False (null counts as false).
        """
        try:
            return self._run(ctx)
        except DATA_ERRORS:
            return self._fallback

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, type={self.type})"


def compile_expression(source: str, scope: Scope, *, expect: ValueType | None = None) -> Expression:
    """Parse, type-check and compile `source` once; raise ExpressionError with a position.

    With `expect`, the result must fit that type: `boolean` for conditions (an error
    "must be true or false" otherwise), a variable's type for assignments. An integer
    fits a decimal; a value whose type only run time knows fits anything.
    """
    if not isinstance(source, str):
        raise ExpressionError("expression must be a text", 0)
    compiler = Compiler(scope)
    root = parse(source)
    typed = compiler.compile(root)
    result_type = public(typed.ty)
    if expect is not None:
        _check_expected(typed, expect, start(root))
        if typed.ty in (ANY, NULL) and expect != BOOLEAN:
            typed = cast(typed, expect)
        result_type = expect
    return Expression(
        source,
        result_type,
        frozenset(compiler.names),
        frozenset(compiler.elements),
        _finished(typed, expect),
        False if expect == BOOLEAN else None,
    )


def _check_expected(typed: Typed, expect: ValueType, pos: int) -> None:
    ty = typed.ty
    if ty in (ANY, NULL) or ty == expect or (ty == INTEGER and expect == DECIMAL):
        return
    if expect == BOOLEAN:
        raise ExpressionError(
            f"must be true or false, but this gives {describe(ty)}; compare it, "
            'for example x > 0 or x == "yes"',
            pos,
        )
    hint = _HINTS.get((ty, expect), "")
    if expect == TEXT:
        hint = "; use toText(x)"
    elif expect in (INTEGER, DECIMAL) and ty == TEXT:
        hint = "; use toNumber(x)"
    elif expect == LIST:
        hint = "; make a list with [x] or split(text, sep)"
    raise ExpressionError(f"must be {describe(expect)}, but this gives {describe(ty)}{hint}", pos)


def _finished(typed: Typed, expect: ValueType | None) -> Callable[[EvalContext], Any]:
    """The closure evaluate calls: strict booleans for conditions, canonical values out."""
    if expect == BOOLEAN:
        return truth(typed).fn
    inner = typed.fn
    if typed.ty in (DATE, DATETIME, ANY):

        def canonical(ctx: EvalContext) -> Any:
            return externalize(inner(ctx))

        return canonical
    return inner
