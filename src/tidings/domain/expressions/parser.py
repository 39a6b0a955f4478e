"""A Pratt parser: tokens to a syntax tree, with the position of every mistake.

Precedence, loosest first (all binary operators are left-associative; comparisons do
not chain):

    or ||  <  and &&  <  not !  <  == != < <= > >= in  <  + -  <  * / %  <  unary -
"""

from __future__ import annotations

from tidings.domain.expressions.errors import MAX_DEPTH, ExpressionError
from tidings.domain.expressions.lexer import KEYWORDS, Token, tokenize
from tidings.domain.expressions.nodes import (
    Binary,
    Call,
    ListOf,
    Literal,
    Name,
    Node,
    Unary,
)

_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _NEGATE = range(1, 8)
_BINARY = {
    "or": (_OR, "or"),
    "||": (_OR, "or"),
    "and": (_AND, "and"),
    "&&": (_AND, "and"),
    "==": (_COMPARE, "=="),
    "!=": (_COMPARE, "!="),
    "<": (_COMPARE, "<"),
    "<=": (_COMPARE, "<="),
    ">": (_COMPARE, ">"),
    ">=": (_COMPARE, ">="),
    "in": (_COMPARE, "in"),
    "not in": (_COMPARE, "not in"),
    "+": (_SUM, "+"),
    "-": (_SUM, "-"),
    "*": (_PRODUCT, "*"),
    "/": (_PRODUCT, "/"),
    "%": (_PRODUCT, "%"),
}
MAX_ITEMS = 1_000  # arguments of one call or items of one list


def parse(source: str) -> Node:
    """Parse a whole expression; raise ExpressionError at the first mistake."""
    parser = _Parser(tokenize(source))
    if parser.peek.kind == "end":
        raise ExpressionError("expression is empty", 0)
    node = parser.expression(_OR)
    token = parser.peek
    if token.kind != "end":
        raise ExpressionError(_trailing(token, node), token.pos)
    return node


def _trailing(token: Token, node: Node) -> str:
    if token.is_op("."):
        if isinstance(node, Name):
            return "a field name must follow the dot"
        return "only person, event, response and item have fields; use functions such as lower(x)"
    if token.is_op("(") and not isinstance(node, Name):
        return "only functions can be called"
    if token.is_op(")", "]"):
        return f"unexpected {token.text!r}: it closes nothing"
    return f"unexpected {token.describe()}: expected an operator or the end of the expression"


def _depth(pos: int, *children: Node) -> int:
    depth = 1 + max((child.depth for child in children), default=0)
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep", pos)
    return depth


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.nesting = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, op: str, what: str) -> Token:
        token = self.peek
        if not token.is_op(op):
            raise ExpressionError(f"expected {op!r} {what}, found {token.describe()}", token.pos)
        return self.advance()

    def expression(self, floor: int) -> Node:
        """Parse operators binding at least as tightly as `floor`."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested more than {MAX_DEPTH} levels deep", self.peek.pos
            )
        try:
            return self.operators(self.prefix(), floor)
        finally:
            self.nesting -= 1

    def operators(self, left: Node, floor: int) -> Node:
        while True:
            token = self.peek
            if token.kind not in ("op", "name"):
                return left
            key = token.text
            if token.is_word("not") and self.tokens[self.index + 1].is_word("in"):
                key = "not in"
            entry = _BINARY.get(key)
            if entry is None or entry[0] < floor:
                return left
            level, op = entry
            if level == _COMPARE and isinstance(left, Binary) and _BINARY[left.op][0] == _COMPARE:
                raise ExpressionError(
                    "compare two values at a time: join comparisons with and", token.pos
                )
            self.advance()
            if op == "not in":
                self.advance()
            right = self.expression(level + 1)
            left = Binary(token.pos, op, left, right, _depth(token.pos, left, right))

    def prefix(self) -> Node:
        token = self.advance()
        if token.is_op("-"):
            operand = self.expression(_NEGATE)
            if isinstance(operand, Literal) and operand.kind in ("integer", "decimal"):
                assert isinstance(operand.value, int | float)
                return Literal(token.pos, operand.kind, -operand.value)
            return Unary(token.pos, "-", operand, _depth(token.pos, operand))
        if token.is_op("!") or token.is_word("not"):
            operand = self.expression(_COMPARE)
            return Unary(token.pos, "not", operand, _depth(token.pos, operand))
        if token.is_op("("):
            if self.peek.is_op(")"):
                raise ExpressionError("empty parentheses", token.pos)
            inner = self.expression(_OR)
            self.expect(")", "to close the '(' here")
            return inner
        if token.is_op("["):
            items = self.sequence("]", "list")
            return ListOf(token.pos, items, _depth(token.pos, *items))
        if token.kind in ("integer", "decimal", "text"):
            return Literal(token.pos, token.kind, token.value)
        if token.kind == "name":
            return self.name(token)
        if token.kind == "end":
            raise ExpressionError("expression ends too early: a value is missing", token.pos)
        raise ExpressionError(f"unexpected {token.describe()}: a value is expected", token.pos)

    def name(self, token: Token) -> Node:
        word = token.text
        if word in ("true", "false"):
            return Literal(token.pos, "boolean", word == "true")
        if word == "null":
            return Literal(token.pos, "null", None)
        if word in KEYWORDS:
            raise ExpressionError(f"unexpected {word!r}: a value is expected", token.pos)
        if self.peek.is_op("("):
            self.advance()
            args = self.sequence(")", "arguments")
            return Call(token.pos, word, args, _depth(token.pos, *args))
        path = [word]
        while self.peek.is_op("."):
            self.advance()
            field = self.peek
            if field.kind != "name":
                raise ExpressionError("a field name must follow the dot", field.pos)
            path.append(self.advance().text)
        if self.peek.is_op("(") and len(path) > 1:
            raise ExpressionError("only functions can be called; fields cannot", self.peek.pos)
        return Name(token.pos, tuple(path))

    def sequence(self, close: str, what: str) -> tuple[Node, ...]:
        """Comma-separated expressions up to `close` (a trailing comma is allowed)."""
        items: list[Node] = []
        while not self.peek.is_op(close):
            if len(items) >= MAX_ITEMS:
                raise ExpressionError(f"more than {MAX_ITEMS} {what}", self.peek.pos)
            items.append(self.expression(_OR))
            if not self.peek.is_op(","):
                break
            self.advance()
        token = self.peek
        if not token.is_op(close):
            raise ExpressionError(
                f"expected ',' or {close!r} in the {what}, found {token.describe()}", token.pos
            )
        self.advance()
        return tuple(items)
