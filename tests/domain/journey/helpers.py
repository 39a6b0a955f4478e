"""What the journey tests share: documents, people, and a `Journey` that drives one
participation through stimuli the way the engine does."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tests.support.documents import DESIGN_EXAMPLE
from tidings.domain.journey import (
    Count,
    Effect,
    Entered,
    EventArrived,
    Person,
    Phase,
    Program,
    State,
    Step,
    Stimulus,
    TimerDue,
    Trace,
    advance,
    compile_program,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
FLOW = 7
VERSION = 1

ANA = Person(
    id=1,
    external_id="p1",
    attributes={"firstName": "Ana", "country": "HR", "loyaltyPoints": 120},
    tags=frozenset({"vip"}),
    phones=("+385911234567",),
    emails=("ana@example.com",),
    timezone="Europe/Zagreb",
)
NOBODY = Person(id=2, external_id="p2", attributes={"firstName": "Ivo"})

CART: dict[str, Any] = DESIGN_EXAMPLE  # DESIGN.md, "Flow documents", verbatim


def flow(*elements: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A document with an API entry and these elements (fields: variables, entry...)."""
    doc: dict[str, Any] = {"name": "test", "entry": {"type": "api"}, "elements": list(elements)}
    doc.update(copy.deepcopy(fields))
    return doc


def compiled(doc: Mapping[str, Any], **options: Any) -> Program:
    return compile_program(dict(doc), flow_id=FLOW, version=VERSION, **options)


def fresh(person: Person = ANA, at: datetime = NOW) -> State:
    """The state the engine creates before `Entered`."""
    return State(
        participation_id=100 + person.id,
        flow_id=FLOW,
        version=VERSION,
        person=person,
        phase=Phase.running,
        element=None,
        variables={},
        entry_event=None,
        entered_at=at,
    )


E = TypeVar("E")


class Journey:
    """One person in one flow, advanced stimulus by stimulus on a clock of its own."""

    def __init__(self, doc: Mapping[str, Any] | Program, person: Person = ANA) -> None:
        self.program = doc if isinstance(doc, Program) else compiled(doc)
        self.now = NOW
        self.state = fresh(person, NOW)
        self.steps: list[Step] = []

    def apply(self, stimulus: Stimulus) -> Step:
        step = advance(self.program, self.state, stimulus, self.now)
        self.steps.append(step)
        self.state = step.state
        return step

    def enter(self, variables: Mapping[str, Any] | None = None, **event: Any) -> Step:
        return self.apply(Entered(dict(variables or {}), event or None))

    def wait(self, by: timedelta) -> Step:
        """Move the clock and deliver the timer if it has come."""
        self.now += by
        return self.apply(TimerDue())

    def until_wake(self) -> Step:
        assert self.state.wake_at is not None
        self.now = self.state.wake_at
        return self.apply(TimerDue())

    def event(self, name: str, **properties: Any) -> Step:
        return self.apply(EventArrived(name, properties, self.now))

    def message_event(self, kind: str, element: str, **extra: Any) -> Step:
        props = {"flow": FLOW, "version": VERSION, "element": element, "channel": "sms"}
        return self.event(f"message.{kind}", **props, **extra)

    @property
    def effects(self) -> list[Effect]:
        return [effect for step in self.steps for effect in step.effects]


def of(kind: type[E], effects: Any) -> list[E]:
    """The effects of one type, from a Step, a Journey or a list."""
    if isinstance(effects, Step | Journey):
        effects = effects.effects
    return [effect for effect in effects if isinstance(effect, kind)]


def counts(effects: Any) -> dict[tuple[str, str | None], int]:
    """Metric totals: (name, element) -> sum."""
    out: dict[tuple[str, str | None], int] = {}
    for count in of(Count, effects):
        key = (count.name, count.element)
        out[key] = out.get(key, 0) + count.by
    return out


def traces(effects: Any, what: str | None = None) -> list[tuple[str | None, str, str | None]]:
    return [(t.element, t.what, t.why) for t in of(Trace, effects) if what in (None, t.what)]


def visited(effects: Any) -> list[str]:
    """The elements entered, in order."""
    return [t.element for t in of(Trace, effects) if t.what == "entered" and t.element]
