"""Compiling one flow version's expressions and templates, once, for the step function.

Validation checks a document against the account's schema before launch; the engine only
has to run what passed. So compiling here is lenient: a name the schema given here does
not know (a custom attribute, an event property) reads with a type known only at run
time, exactly like `response.x`, instead of failing. An expression or a template that
still does not compile (which validation would have refused) becomes one that gives null
or refuses to render; it is listed in `problems` and never stops a person.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, cast

from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.expressions import (
    EvalContext,
    Expression,
    ExpressionError,
    Scope,
    compile_expression,
)
from tidings.domain.flows import FlowDocument, ValidationContext
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.flows.messages import SEND_TYPES
from tidings.domain.templates import RenderError, Template, TemplateError, compile_template
from tidings.domain.values import ValueType

Types = Mapping[str, ValueType]
# The type the expression checker gives to what only run time knows.
_ANY: Final = cast(ValueType, "any")
ENTRY: Final = "entry"  # `event` of a scope: the entry event


class OpenFields(Mapping[str, ValueType]):
    """Declared fields with their types; every other name is there too, of type any."""

    def __init__(self, known: Types) -> None:
        self._known = known

    def __getitem__(self, key: str) -> ValueType:
        return self._known.get(key, _ANY)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


class BrokenTemplate(Template):
    """A template that did not compile: every render refuses, saying why."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message

    @property
    def fast(self) -> bool:
        return True

    def render(self, data: Mapping[str, Any]) -> str:
        raise RenderError(self.message)

    @property
    def reads(self) -> tuple[tuple[str, ...], ...] | None:
        return ()  # nothing: it refuses whoever it is rendered for


class Compiler:
    """Compiles the pieces of one document; collects what did not compile."""

    def __init__(self, doc: FlowDocument, context: ValidationContext | None) -> None:
        self.doc = doc
        self.context = context if context is not None else ValidationContext()
        self.problems: list[str] = []
        self.variables: dict[str, ValueType] = {}
        for variable in doc.variables:
            self.variables.setdefault(variable.name, variable.type)
        self.person = OpenFields(self.context.attributes)
        self.sends = frozenset(e.id for e in doc.elements if e.type in SEND_TYPES)
        self.entry_event = self._entry_event()

    def _entry_event(self) -> OpenFields:
        entry = self.doc.entry
        if isinstance(entry, EventEntry):
            return self.event_fields(entry.event)
        if isinstance(entry, InboundEntry):
            return OpenFields(STANDARD_EVENTS["message.received"])
        # Audience, API and SFTP entries bring no event; event.x still reads (as null), so
        # a document that validation let through never fails to compile here.
        return OpenFields({})

    def event_fields(self, name: str | None) -> OpenFields:
        """The properties of event `name`: declared types where known, any otherwise."""
        known = self.context.event_types(name) if name else None
        return OpenFields(known or {})

    def scope(
        self,
        *,
        event: OpenFields | str | None = ENTRY,
        response: bool = False,
        item: Types | None = None,
    ) -> Scope:
        fields = self.entry_event if isinstance(event, str) else event
        return Scope(
            variables=self.variables,
            person=self.person,
            event=fields,
            response=response,
            item=OpenFields(item) if item is not None else None,
            elements=self.sends,
        )

    def expression(
        self,
        source: str | None,
        where: str,
        *,
        scope: Scope | None = None,
        expect: ValueType | None = None,
    ) -> Expression | None:
        """The compiled expression; None when there is none. A condition passes
        expect=boolean and always gives True or False."""
        if source is None or not source.strip():
            return None
        try:
            return compile_expression(source, scope or self.scope(), expect=expect)
        except ExpressionError as exc:
            self.problems.append(f"{where}: {exc}")
            return broken_expression(source, expect)

    def condition(
        self, source: str | None, where: str, *, scope: Scope | None = None
    ) -> Expression | None:
        return self.expression(source, where, scope=scope, expect=ValueType.boolean)

    def assignments(
        self, mapping: Mapping[str, str], where: str, *, scope: Scope | None = None
    ) -> tuple[tuple[str, Expression], ...]:
        """`{variable: expression}`, each compiled to the variable's type."""
        out: list[tuple[str, Expression]] = []
        for name, source in mapping.items():
            compiled = self.expression(
                source, f"{where}.{name}", scope=scope, expect=self.variables.get(name)
            )
            if compiled is not None:
                out.append((name, compiled))
        return tuple(out)

    def template(self, source: str | None, where: str) -> Template | None:
        if source is None:
            return None
        try:
            return compile_template(source)
        except TemplateError as exc:
            self.problems.append(f"{where}: {exc.message}")
            return BrokenTemplate(source, exc.message)


def broken_expression(source: str, expect: ValueType | None) -> Expression:
    """An expression that did not compile: null, or false as a condition."""
    fallback = False if expect == ValueType.boolean else None

    def run(ctx: EvalContext) -> Any:
        return fallback

    return Expression(source, expect, frozenset(), frozenset(), run, fallback)


__all__ = [
    "ENTRY",
    "BrokenTemplate",
    "Compiler",
    "OpenFields",
    "broken_expression",
]
