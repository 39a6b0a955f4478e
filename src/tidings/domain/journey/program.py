"""A launched flow version compiled once into a `Program` the step function runs.

    program = compile_program(document, flow_id=7, version=2, account_timezone="UTC")

Compiling parses every expression and template, resolves `next`, and builds one handler
per element (`elements/`); `advance` then does no parsing at all. Pass the account's
`ValidationContext` to type person attributes and event properties exactly as validation
did; without it, names the standard schema does not know are typed at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.domain.expressions import Expression
from tidings.domain.flows import FlowDocument, ValidationContext, parse_document
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.inbound import EVENT as INBOUND_EVENT
from tidings.domain.inbound import InboundMatch
from tidings.domain.journey.clock import zone
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements import Handler, build
from tidings.domain.journey.run import GoalSpec, VariableSpec
from tidings.domain.journey.windows import compile_window
from tidings.domain.send_windows import WindowRule
from tidings.domain.values import ValueType


@dataclass(frozen=True, eq=False)
class Program:
    """One flow version, compiled. Immutable and shared by every participation."""

    flow_id: int
    version: int
    timezone: str  # the flow's zone, else the account's: date functions and `at` use it
    account_timezone: str
    first: str | None  # the element the entry leads to
    handlers: Mapping[str, Handler]
    variables: tuple[VariableSpec, ...]
    types: Mapping[str, ValueType]  # variable name -> declared type
    entry_event: str | None  # the event (or, for inbound entries, message.received) name
    entry_where: Expression | None
    entry_assign: tuple[tuple[str, Expression], ...]
    goal: GoalSpec | None
    sends: frozenset[str]  # send elements: their message events are recorded
    problems: tuple[str, ...]  # what did not compile (validation would have refused it)
    send_window: WindowRule | None = None  # None: messages go out at any time
    # an inbound entry: the messages (`message.received` events) it takes
    entry_inbound: InboundMatch | None = None

    def awaited(self, element: str | None) -> str | None:
        """The event everyone waiting at `element` waits for, when the element names it
        (a `wait_for_event`'s own `event`); None for any other element."""
        handler = self.handlers.get(element) if element is not None else None
        return None if handler is None else handler.awaits


def compile_program(
    document: FlowDocument | Mapping[str, Any],
    *,
    flow_id: int,
    version: int,
    account_timezone: str = "UTC",
    context: ValidationContext | None = None,
) -> Program:
    """Compile a flow version (a `FlowDocument`, or its JSON data) for `advance`.

    Never raises for what a document says: what does not compile is listed in
    `problems` and behaves as null (expressions) or a refused render (templates).
    """
    doc = document if isinstance(document, FlowDocument) else parse_document(document)
    compiler = Compiler(doc, context)
    account_zone = account_timezone if zone(account_timezone) is not None else "UTC"
    flow_zone = doc.timezone if zone(doc.timezone) is not None else None
    handlers: dict[str, Handler] = {}
    for element in doc.elements:
        handlers.setdefault(element.id, build(element, compiler))
    entry_scope = compiler.scope()
    variables = []
    seen: set[str] = set()
    for variable in doc.variables:
        if variable.name in seen:
            continue
        seen.add(variable.name)
        default = compiler.expression(
            variable.default,
            f"variables.{variable.name}.default",
            scope=entry_scope,
            expect=variable.type,
        )
        variables.append(VariableSpec(variable.name, variable.type, default))
    entry = doc.entry
    entry_event: str | None = None
    entry_where = None
    entry_inbound = None
    entry_assign: tuple[tuple[str, Expression], ...] = ()
    if isinstance(entry, EventEntry):
        entry_event = entry.event
        entry_where = compiler.condition(entry.where, "entry.where", scope=entry_scope)
    elif isinstance(entry, InboundEntry):
        entry_event = INBOUND_EVENT
        entry_inbound = InboundMatch.of(entry.channel, entry.number, entry.keyword)
    if isinstance(entry, EventEntry | InboundEntry):
        entry_assign = compiler.assignments(entry.assign, "entry.assign", scope=entry_scope)
    goal = _goal(doc, compiler)
    send_window = compile_window(doc, flow_zone or account_zone, compiler.problems)
    return Program(
        flow_id=flow_id,
        version=version,
        timezone=flow_zone or account_zone,
        account_timezone=account_zone,
        first=doc.first_id(),
        handlers=handlers,
        variables=tuple(variables),
        types=dict(compiler.variables),
        entry_event=entry_event,
        entry_where=entry_where,
        entry_assign=entry_assign,
        goal=goal,
        sends=compiler.sends,
        problems=tuple(compiler.problems),
        send_window=send_window,
        entry_inbound=entry_inbound,
    )


def _goal(doc: FlowDocument, compiler: Compiler) -> GoalSpec | None:
    goal = doc.settings.goal
    if goal is None or not goal.event:
        return None
    scope = compiler.scope(event=compiler.event_fields(goal.event))
    return GoalSpec(
        goal.event,
        compiler.condition(goal.where, "settings.goal.where", scope=scope),
        compiler.expression(goal.value, "settings.goal.value", scope=scope),
    )
