"""The syntax tree the parser builds and the compiler walks (once, at compile time).

Every node knows where it starts in the source (`pos`), for error positions, and how
deep it is (`depth`), so that the compiler's recursion stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

LiteralKind = TypingLiteral["integer", "decimal", "text", "boolean", "null"]


@dataclass(frozen=True, slots=True)
class Literal:
    pos: int
    kind: LiteralKind
    value: int | float | str | bool | None
    depth: int = 1


@dataclass(frozen=True, slots=True)
class Name:
    """A bare variable (`cartValue`) or a dotted path (`person.firstName`, `response.a.b`)."""

    pos: int
    path: tuple[str, ...]
    depth: int = 1

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Unary:
    pos: int  # the operator
    op: str  # "-" or "not"
    operand: Node
    depth: int


@dataclass(frozen=True, slots=True)
class Binary:
    pos: int  # the operator
    op: str  # normalized: "and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "+", ...
    left: Node
    right: Node
    depth: int


@dataclass(frozen=True, slots=True)
class Call:
    pos: int  # the function's name
    name: str
    args: tuple[Node, ...]
    depth: int


@dataclass(frozen=True, slots=True)
class ListOf:
    pos: int  # the opening bracket
    items: tuple[Node, ...]
    depth: int


Node = Literal | Name | Unary | Binary | Call | ListOf


def start(node: Node) -> int:
    """Where the text of `node` begins (a binary operation begins with its left side)."""
    while isinstance(node, Binary):
        node = node.left
    return node.pos
