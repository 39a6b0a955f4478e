"""The shared tools of validation: one `Checker` collects every problem of a document
and knows how to check an expression, a template, a duration or a reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tidings.domain.durations import parse_duration, parse_instant
from tidings.domain.errors import Problem
from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.expressions import ExpressionError, Scope, compile_expression
from tidings.domain.expressions.scope import PERSON_IDS
from tidings.domain.flows.base import ElementBase
from tidings.domain.flows.context import ValidationContext
from tidings.domain.flows.document import FlowDocument
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.flows.messages import SEND_TYPES
from tidings.domain.flows.summary import duration_words
from tidings.domain.templates import check_template, placeholders, where
from tidings.domain.values import ValueType

Types = Mapping[str, ValueType]
# The event properties a message event carries (wait_for_event on a send element).
MESSAGE_EVENT = STANDARD_EVENTS["message.delivered"]
INBOUND_EVENT = STANDARD_EVENTS["message.received"]
# What a template may read besides flow variables: the profile, the entry event and the
# instant of sending (the date filter cannot read the clock itself).
TEMPLATE_ROOTS = frozenset({"person", "event", "now"})
MESSAGE_EVENTS = ("message.delivered", "message.failed", "message.seen", "message.clicked")


class Unknown:
    """The event a scope would hold is itself unknown: skip expressions that need it
    (the unknown event is reported once, where it is named)."""


UNKNOWN = Unknown()
EventScope = Types | None | Unknown


class Checker:
    """Collects problems for one document checked against one context."""

    def __init__(self, doc: FlowDocument, ctx: ValidationContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self.problems: list[Problem] = []
        self.variables: dict[str, ValueType] = {}
        for variable in doc.variables:
            self.variables.setdefault(variable.name, variable.type)
        self.ids = frozenset(element.id for element in doc.elements)
        self.sends = frozenset(e.id for e in doc.elements if e.type in SEND_TYPES)
        self.entry_event = self._entry_event()

    def _entry_event(self) -> EventScope:
        entry = self.doc.entry
        if isinstance(entry, EventEntry):
            if not entry.event:
                return UNKNOWN
            found = self.ctx.event_types(entry.event)
            return UNKNOWN if found is None else found
        if isinstance(entry, InboundEntry):
            return INBOUND_EVENT
        return None

    def connection(self, connection: int | None, channel: str, field: str, element: str) -> None:
        """A send's own `connection`: one of the account's, carrying its channel."""
        known = self.ctx.connections
        if connection is None or known is None:
            return
        channels = known.get(connection)
        if channels is None:
            self.add(field, f"there is no connection {connection}", element)
        elif channel not in channels:
            self.add(field, f"connection {connection} does not carry {channel}", element)

    def add(self, field: str, message: str, element: str | None = None) -> None:
        self.problems.append(Problem(field, message, element))

    def scope(
        self,
        *,
        event: EventScope | str = "entry",
        response: bool = False,
        item: Types | None = None,
    ) -> Scope | None:
        """The names an expression may use here; None when its event is unknown.

        `event` is the entry event unless given: `event.x` is the entry event's property
        for the whole participation, except where another event is at hand.
        """
        chosen = self.entry_event if isinstance(event, str) else event
        if isinstance(chosen, Unknown):
            return None
        return Scope(
            variables=self.variables,
            person=self.ctx.attributes,
            event=chosen,
            response=response,
            item=item,
            elements=self.sends,
        )

    def expression(
        self,
        source: str | None,
        field: str,
        element: str | None,
        *,
        scope: Scope | None,
        expect: ValueType | None = None,
        condition: bool = False,
        required: str | None = None,
    ) -> None:
        """Check one expression. A condition (`where`, `when`) that is present must not be
        empty; `required` is the message for one that must be there at all."""
        if source is None or not source.strip():
            if condition and source is not None:
                self.add(field, "enter a condition, or remove it", element)
            elif required is not None:
                self.add(field, required, element)
            return
        if scope is None:
            return
        if condition:
            expect = ValueType.boolean
        try:
            compile_expression(source, scope, expect=expect)
        except ExpressionError as exc:
            self.add(field, str(exc), element)

    def template(self, source: str | None, field: str, element: str | None) -> None:
        """Liquid syntax, then each placeholder: a person attribute, a property of the
        entry event, a flow variable or `now`."""
        if source is None:
            return
        error = check_template(source)
        if error is not None:
            self.add(field, error, element)
            return
        for path, index in placeholders(source):
            message = self._placeholder(path)
            if message is not None:
                self.add(field, message + where(source, index), element)

    def _placeholder(self, path: tuple[str, ...]) -> str | None:
        root, key = path[0], path[1] if len(path) > 1 else None
        if root == "person":
            if key is not None and key not in self.ctx.attributes and key not in PERSON_IDS:
                return f"{{{{ person.{key} }}}}: there is no person attribute {key!r}"
        elif root == "event":
            event = self.entry_event
            if event is None:
                return "{{ event.… }}: no event brings people into this flow"
            if key is not None and isinstance(event, Mapping) and key not in event:
                return f"{{{{ event.{key} }}}}: the entry event has no property {key!r}"
        elif root not in self.variables and root not in TEMPLATE_ROOTS:
            return f"{{{{ {root} }}}}: there is no flow variable {root!r}"
        return None

    def duration(
        self,
        text: str | None,
        field: str,
        element: str | None,
        *,
        at_least: timedelta = timedelta(0),
        at_most: timedelta | None = None,
        required: str | None = None,
    ) -> timedelta | None:
        if text is None:
            if required is not None:
                self.add(field, required, element)
            return None
        try:
            value = parse_duration(text)
        except ValueError as exc:
            self.add(field, str(exc), element)
            return None
        if value <= timedelta(0) and at_least <= timedelta(0):
            self.add(field, "must be longer than zero", element)
        elif value < at_least:
            self.add(field, f"must be at least {duration_words(at_least)}", element)
        elif at_most is not None and value > at_most:
            self.add(field, f"must be at most {duration_words(at_most)}", element)
        return value

    def instant(self, text: str | None, field: str) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_instant(text)
        except ValueError as exc:
            self.add(field, str(exc))
            return None

    def require(self, value: object, field: str, message: str, element: str | None) -> bool:
        """Report `message` when `value` is missing or blank; True when it is there."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(field, message, element)
            return False
        return True

    def variable(
        self, name: str, field: str, element: str | None, *, from_event: bool = False
    ) -> ValueType | None:
        """The type of variable `name` that something assigns; problems when it is unknown,
        or a list variable filled from anything but an event property."""
        kind = self.variables.get(name)
        if kind is None:
            self.add(field, f"there is no flow variable {name!r}: add it to the variables", element)
            return None
        if kind is ValueType.list and not from_event:
            self.add(
                field,
                f"{name!r} is a list variable: it can only be filled from an event property "
                "(in the entry or a wait for event element)",
                element,
            )
        return kind

    def assign(
        self,
        mapping: Mapping[str, str],
        field: str,
        element: str | None,
        *,
        scope: Scope | None,
        from_event: bool = False,
    ) -> None:
        """Check `{variable: expression}`: known variables, expressions of their type."""
        for name, source in mapping.items():
            kind = self.variable(name, f"{field}.{name}", element, from_event=from_event)
            self.expression(
                source,
                f"{field}.{name}",
                element,
                scope=scope,
                expect=kind,
                required="enter what to assign",
            )

    def event(self, name: str | None, field: str, element: str | None) -> Types | None:
        """The property types of a named event; a problem when it is not defined."""
        if name is None or not name.strip():
            return None
        found = self.ctx.event_types(name)
        if found is None:
            self.add(field, f"there is no event {name!r}: define it in People first", element)
        return found


# -- the element checks, one function per element type, registered by model class -----

E = TypeVar("E", bound=ElementBase)
Check = Callable[[Checker, Any], None]

CHECKS: dict[type[ElementBase], Check] = {}


def checks(kind: type[E]) -> Callable[[Callable[[Checker, E], None]], Callable[[Checker, E], None]]:
    """Register the check of one element type."""

    def register(fn: Callable[[Checker, E], None]) -> Callable[[Checker, E], None]:
        CHECKS[kind] = fn
        return fn

    return register


def check_element(checker: Checker, element: ElementBase) -> None:
    CHECKS[type(element)](checker, element)
