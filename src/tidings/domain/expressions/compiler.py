"""From syntax tree to closures: resolve names, check types, pick specialised code.

The walk happens once per expression; what it returns is a tree of Python closures that
evaluation calls directly, without looking at the syntax tree again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.functions import FUNCTIONS, MESSAGE_EVENTS
from tidings.domain.expressions.kinds import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    LIST,
    NULL,
    TEXT,
    Ty,
    Typed,
    constant,
)
from tidings.domain.expressions.nodes import (
    Binary,
    Call,
    ListOf,
    Literal,
    Name,
    Node,
    Unary,
    start,
)
from tidings.domain.expressions.operators import binary, unary
from tidings.domain.expressions.runtime import EvalContext, externalize
from tidings.domain.expressions.scope import Scope, resolve, suggestions

_LITERAL_TYPES: dict[str, Ty] = {
    "integer": INTEGER,
    "decimal": DECIMAL,
    "text": TEXT,
    "boolean": BOOLEAN,
    "null": NULL,
}


@dataclass
class Compiler:
    """Compiles the nodes of one expression and notes which names and elements it reads."""

    scope: Scope
    names: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=set)

    def compile(self, node: Node) -> Typed:
        match node:
            case Literal():
                return constant(node.value, _LITERAL_TYPES[node.kind], node.pos)
            case Name():
                return self.name(node)
            case Unary():
                return unary(node.op, self.compile(node.operand), node.pos)
            case Binary():
                left = self.compile(node.left)
                right = self.compile(node.right)
                # errors about the whole operation point at its start, not its operator
                return replace(binary(node.op, left, right, node.pos), pos=start(node))
            case Call():
                return self.call(node)
            case ListOf():
                return self.list_of(node)
            case _:
                assert_never(node)

    def name(self, node: Name) -> Typed:
        root = node.path[0]
        if len(node.path) == 1 and root in FUNCTIONS and root not in self.scope.variables:
            raise ExpressionError(f"{root} is a function: write {root}(…)", node.pos)
        typed = resolve(node, self.scope)
        self.names.add(node.dotted)
        return typed

    def call(self, node: Call) -> Typed:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise _unknown_function(node)
        args = [self.compile(arg) for arg in node.args]
        typed = function.compile(node, args, self.scope)
        if node.name in MESSAGE_EVENTS:
            self.elements.add(args[0].constant)
        return typed

    def list_of(self, node: ListOf) -> Typed:
        items = [self.compile(item) for item in node.items]
        if all(item.is_constant for item in items):
            values = [externalize(item.constant) for item in items]
            return Typed(_fresh_copy(values), LIST, node.pos, constant=values, never_null=True)
        fns = [item.fn for item in items]

        def run(ctx: EvalContext) -> list[Any]:
            return [externalize(fn(ctx)) for fn in fns]

        return Typed(run, LIST, node.pos, never_null=True)


def _fresh_copy(values: list[Any]) -> Any:
    """A constant list, copied per evaluation so that no caller can change the original."""

    def run(ctx: EvalContext) -> list[Any]:
        return values.copy()

    return run


def _unknown_function(node: Call) -> ExpressionError:
    names = sorted(FUNCTIONS)
    close = [name for name in names if name.lower() == node.name.lower()]
    if close:
        return ExpressionError(
            f"unknown function {node.name!r}: names are case-sensitive, write {close[0]}",
            node.pos,
        )
    close = suggestions(node.name, names)
    hint = "; did you mean " + " or ".join(close) + "?" if close else ""
    return ExpressionError(f"unknown function {node.name!r}{hint}", node.pos)
