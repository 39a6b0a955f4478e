"""Which names an expression may read, with their types, and how each is read.

Names are data keys, never Python attributes: `person.firstName` is
`ctx.person.get("firstName")`. A name that the scope does not declare is a compile
error that lists the closest declared names.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.kinds import ANY, DATE, DATETIME, Ty, Typed
from tidings.domain.expressions.nodes import Name
from tidings.domain.expressions.runtime import EvalContext, Fn, as_date, as_datetime, lookup
from tidings.domain.values import ValueType

ROOTS = ("person", "event", "response", "item")
# The person's own ids, readable beside their attributes (not attributes: no flow sets them).
PERSON_IDS: Mapping[str, ValueType] = {"externalId": ValueType.text, "id": ValueType.integer}


@dataclass(frozen=True)
class Scope:
    """What names an expression may use, with their types."""

    variables: Mapping[str, ValueType] = field(default_factory=dict)  # bare: cartValue
    person: Mapping[str, ValueType] = field(default_factory=dict)  # person.firstName
    event: Mapping[str, ValueType] | None = None  # None: no event here
    response: bool = False  # response.x and response.a.b (call_api assign), type any
    item: Mapping[str, ValueType] | None = None  # item.column (catalog_lookup assign)
    elements: frozenset[str] = frozenset()  # send elements for clicked("sms1") & co

    def known_names(self) -> list[str]:
        names = list(self.variables)
        names += [f"person.{key}" for key in (*PERSON_IDS, *self.person)]
        names += [f"event.{key}" for key in self.event or ()]
        names += [f"item.{key}" for key in self.item or ()]
        return names


def resolve(node: Name, scope: Scope) -> Typed:
    """Check a name against the scope and compile its read."""
    root, *rest = node.path
    if root in ROOTS:
        return _rooted(node, root, tuple(rest), scope)
    if root not in scope.variables:
        raise _unknown(node, f"unknown variable {root!r}", scope.known_names())
    if rest:
        raise ExpressionError(f"{root} is a {scope.variables[root]}; it has no fields", node.pos)
    return _read(_variable(root), scope.variables[root], node.pos)


def _rooted(node: Name, root: str, rest: tuple[str, ...], scope: Scope) -> Typed:
    if not rest:
        example = {"person": "firstName", "event": "cartValue", "response": "status"}
        raise ExpressionError(
            f"{root} needs a field, such as {root}.{example.get(root, 'name')}", node.pos
        )
    if root == "response":
        if not scope.response:
            raise ExpressionError("response is only available in a call_api assign", node.pos)
        return Typed(_nested(rest), ANY, node.pos)
    fields: Mapping[str, ValueType] | None
    if root == "person":
        fields = scope.person
        if rest[0] in PERSON_IDS:
            fields = PERSON_IDS
    elif root == "event":
        fields = scope.event
        if fields is None:
            raise ExpressionError("there is no event here: event.x needs an event", node.pos)
    else:
        fields = scope.item
        if fields is None:
            raise ExpressionError("item is only available in a catalog_lookup assign", node.pos)
    key = rest[0]
    if key not in fields:
        what = {"person": "person attribute", "event": "event property", "item": "item column"}
        candidates = [f"{root}.{name}" for name in fields]
        raise _unknown(node, f"unknown {what[root]} {node.dotted!r}", candidates)
    if len(rest) > 1:
        raise ExpressionError(
            f"{root}.{key} is a {fields[key]}; it has no fields", node.pos + len(root) + 1
        )
    return _read(_field(root, key), fields[key], node.pos)


def _unknown(node: Name, message: str, candidates: list[str]) -> ExpressionError:
    close = suggestions(node.dotted, candidates)
    if close:
        message += "; did you mean " + " or ".join(close) + "?"
    return ExpressionError(message, node.pos)


def suggestions(wanted: str, candidates: list[str]) -> list[str]:
    """Up to three candidates that look like `wanted`, best first.

    Compares the last segment, ignoring case, so `firstname` finds `person.firstName`
    and `person.frstName` is not drowned by every other `person.` name.
    """
    key = wanted.rsplit(".", 1)[-1].lower()
    scored: list[tuple[float, str]] = []
    for candidate in candidates:
        tail = candidate.rsplit(".", 1)[-1].lower()
        score = difflib.SequenceMatcher(None, key, tail).ratio()
        if candidate.lower() == wanted.lower():
            score = 2.0
        if score >= 0.75:
            scored.append((-score, candidate))
    return [candidate for _, candidate in sorted(scored)[:3]]


def _read(fn: Fn, ty: ValueType, pos: int) -> Typed:
    """Dates and datetimes arrive as canonical texts; convert them on the way in."""
    if ty == DATE:
        return Typed(_converted(fn, as_date), DATE, pos)
    if ty == DATETIME:
        return Typed(_converted(fn, as_datetime), DATETIME, pos)
    resolved: Ty = ty
    return Typed(fn, resolved, pos)


def _converted(fn: Fn, convert: Any) -> Fn:
    def run(ctx: EvalContext) -> Any:
        return convert(fn(ctx))

    return run


def _variable(name: str) -> Fn:
    def run(ctx: EvalContext) -> Any:
        return ctx.variables.get(name)

    return run


def _field(root: str, key: str) -> Fn:
    if root == "person":

        def person(ctx: EvalContext) -> Any:
            return ctx.person.get(key)

        return person
    if root == "event":

        def event(ctx: EvalContext) -> Any:
            data = ctx.event
            return None if data is None else data.get(key)

        return event

    def item(ctx: EvalContext) -> Any:
        data = ctx.item
        return None if data is None else data.get(key)

    return item


def _nested(path: tuple[str, ...]) -> Fn:
    def run(ctx: EvalContext) -> Any:
        return lookup(ctx.response, path)

    return run
