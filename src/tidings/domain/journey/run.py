"""One advance in progress: a working copy of the participation, and the effects so far.

Element handlers read and change the person's journey only through a `Run`: evaluate an
expression, render a template, assign variables, change the profile, emit effects. When
the person must wait or leaves, the run becomes the new `State` and the `Step`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from tidings.domain.expressions import EvalContext, Expression
from tidings.domain.expressions.runtime import instant_text
from tidings.domain.journey.types import Count, Effect, Person, Phase, State, Step, Trace
from tidings.domain.send_windows import WindowRule
from tidings.domain.values import ValueType, coerce


@dataclass(frozen=True)
class VariableSpec:
    """A flow variable: its type and the compiled expression of its default."""

    name: str
    type: ValueType
    default: Expression | None


@dataclass(frozen=True)
class GoalSpec:
    """The goal event, the condition it must meet and the value it adds."""

    event: str
    where: Expression | None
    value: Expression | None


class Compiled(Protocol):
    """What a run reads of its program (a `program.Program`): typed here, so run.py does
    not import program.py, which builds the handlers that import run.py."""

    @property
    def flow_id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def timezone(self) -> str: ...
    @property
    def types(self) -> Mapping[str, ValueType]: ...
    @property
    def goal(self) -> GoalSpec | None: ...
    @property
    def send_window(self) -> WindowRule | None: ...
    @property
    def handlers(self) -> Mapping[str, Any]: ...
    @property
    def sends(self) -> frozenset[str]: ...
    @property
    def variables(self) -> tuple[VariableSpec, ...]: ...
    @property
    def entry_assign(self) -> tuple[tuple[str, Expression], ...]: ...


# --- what a handler decides ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Go:
    """Move on: by `outcome` (a key of a `next` map), or the single `next` when None."""

    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """Stay at this element until `wake_at`, an awaited event or an outside result."""

    wake_at: datetime | None = None
    waiting_for: str | None = None
    waiting_element: str | None = None
    local: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Leave:
    """Leave the flow here."""

    reason: str = "completed"


Move = Go | Hold | Leave

_ENTRY: Final[Any] = object()  # `event=` default: the entry event
# The local-state keys kept from element to element: when the person reached the
# flow's goal in this participation (an instant text), so it counts once, and the goal's
# value then (a number; absent without one), which the people report shows.
GOAL: Final = "goal"
GOAL_VALUE: Final = "goalValue"
# And how many add_to_flow steps in a row brought the person here (elements/actions.py).
HOPS: Final = "hops"


def person_data(person: Person) -> dict[str, Any]:
    """The person as expressions and templates see them: attributes by API name, plus
    the person's own externalId and id, tags, phones, emails and timezone."""
    data = dict(person.attributes)
    data["externalId"] = person.external_id
    data["id"] = person.id
    data["tags"] = sorted(person.tags)
    data["phones"] = list(person.phones)
    data["emails"] = list(person.emails)
    if person.timezone is not None or "timezone" not in data:
        data["timezone"] = person.timezone
    return data


class PersonView(Mapping[str, Any]):
    """`person_data(person)`, built when first read: most conditions and many messages
    read only the event, the variables or nothing, and a batch asks for thousands."""

    __slots__ = ("_data", "_person")

    def __init__(self, person: Person) -> None:
        self._person = person
        self._data: dict[str, Any] | None = None

    def _full(self) -> dict[str, Any]:
        if self._data is None:
            self._data = person_data(self._person)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._full()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())

    def get(self, key: str, default: Any = None) -> Any:
        return self._full().get(key, default)


class Run:
    """The participation while one stimulus is applied to it."""

    __slots__ = (
        "_data",
        "_now_text",
        "effects",
        "entry_event",
        "goal_at",
        "goal_value",
        "hops",
        "message_events",
        "now",
        "person",
        "program",
        "state",
        "variables",
    )

    def __init__(self, program: Compiled, state: State, now: datetime) -> None:
        self.program = program
        self.state = state
        self.now = now
        self.variables: dict[str, Any] = dict(state.variables)
        self.person = state.person
        self.entry_event = state.entry_event
        self.message_events = state.message_events
        hops = state.local.get(HOPS)
        self.hops: int = hops if type(hops) is int else 0
        self.effects: list[Effect] = []
        self.goal_at: str | None = None  # the goal was reached in this run, at this instant
        self.goal_value: int | float | None = None  # and its value then
        self._data: PersonView | None = None
        self._now_text: str | None = None

    # -- effects ---------------------------------------------------------------------------

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def count(self, name: str, element: str | None = None, by: int = 1) -> None:
        self.effects.append(Count(name, element, by))

    def trace(self, element: str | None, what: str, why: str | None = None) -> None:
        self.effects.append(Trace(element, what, why))

    # -- reading data ----------------------------------------------------------------------

    def person_data(self) -> PersonView:
        """The person as expressions and templates see it (see `person_data`)."""
        if self._data is None:
            self._data = PersonView(self.person)
        return self._data

    def now_text(self) -> str:
        if self._now_text is None:
            self._now_text = instant_text(self.now)
        return self._now_text

    def context(
        self,
        *,
        event: Mapping[str, Any] | None = _ENTRY,
        response: Mapping[str, Any] | None = None,
        item: Mapping[str, Any] | None = None,
        timezone: str | None = None,
    ) -> EvalContext:
        """What expressions read here; date functions use the flow's zone unless
        `timezone` names another (a wait's `until` reads the person's)."""
        return EvalContext(
            variables=self.variables,
            person=self.person_data(),
            event=self.entry_event if event is _ENTRY else event,
            now=self.now,
            timezone=timezone or self.program.timezone,
            response=response,
            item=item,
            message_events=self._happened,
        )

    def _happened(self, element: str, kind: str) -> bool:
        return (element, kind) in self.message_events

    def evaluate(self, expression: Expression, **where: Any) -> Any:
        """The value of `expression` here (event=/response= as in `context`)."""
        return expression.evaluate(self.context(**where))

    def template_data(self) -> dict[str, Any]:
        """What a template reads: flow variables bare, `person`, `event` (the entry
        event's properties) and `now` (the instant, as an ISO 8601 text)."""
        data = dict(self.variables)
        data["person"] = self.person_data()
        data["event"] = self.entry_event if self.entry_event is not None else {}
        data["now"] = self.now_text()
        return data

    # -- changing data ---------------------------------------------------------------------

    def assign(
        self, pairs: Sequence[tuple[str, Expression]], element: str | None, **where: Any
    ) -> None:
        """Set flow variables from expressions, all evaluated before any is set."""
        if not pairs:
            return
        ctx = self.context(**where)
        values = [(name, expression.evaluate(ctx)) for name, expression in pairs]
        for name, value in values:
            self.set_variable(name, value, element)

    def set_variable(self, name: str, value: Any, element: str | None) -> bool:
        """Set one variable, coerced to its declared type; False (and a trace) when the
        value does not fit, which leaves the variable unchanged."""
        kind = self.program.types.get(name)
        if kind is None:
            self.trace(element, "variable ignored", f"{name}: not a variable of this flow")
            return False
        try:
            self.variables[name] = coerce(value, kind)
        except ValueError as exc:
            self.trace(element, "variable ignored", f"{name}: {exc}")
            return False
        return True

    def change_person(self, person: Person) -> None:
        self.person = person
        self._data = None

    def recipient(self, contact: str) -> str | None:
        """The person's first phone number or email address."""
        found = self.person.phones if contact == "phone" else self.person.emails
        return found[0] if found else None

    # -- finishing -------------------------------------------------------------------------

    def _state(
        self,
        phase: Phase,
        element: str | None,
        hold: Hold | None = None,
        exit_reason: str | None = None,
    ) -> State:
        old = self.state
        local = hold.local if hold else {}
        if self.program.goal is not None:
            reached = self.goal_at or old.local.get(GOAL)
            if reached is not None:
                local = {**local, GOAL: reached}
                value = self.goal_value if self.goal_at else old.local.get(GOAL_VALUE)
                if value is not None:
                    local[GOAL_VALUE] = value
        if self.hops:
            local = {**local, HOPS: self.hops}
        return State(
            participation_id=old.participation_id,
            flow_id=old.flow_id,
            version=old.version,
            person=self.person,
            phase=phase,
            element=element,
            variables=self.variables,
            entry_event=self.entry_event,
            entered_at=old.entered_at,
            wake_at=hold.wake_at if hold else None,
            waiting_for=hold.waiting_for if hold else None,
            waiting_element=hold.waiting_element if hold else None,
            message_events=self.message_events,
            local=local,
            exit_reason=exit_reason,
        )

    def hold(self, element: str, hold: Hold) -> Step:
        return Step(self._state(Phase.waiting, element, hold), tuple(self.effects))

    def leave(self, element: str | None, reason: str) -> Step:
        if reason == "completed":
            self.count("profilesExited")
        self.trace(element, "exited", reason)
        return Step(self._state(Phase.exited, element, exit_reason=reason), tuple(self.effects))

    def unmoved(self) -> Step:
        """Nothing moved the person: the state as it was, with what this run recorded."""
        old = self.state
        changed = (
            self.person is not old.person
            or self.message_events is not old.message_events
            or self.variables != old.variables
            or self.goal_at is not None
        )
        if not changed:
            return Step(old, tuple(self.effects))
        hold = Hold(old.wake_at, old.waiting_for, old.waiting_element, old.local)
        state = self._state(old.phase, old.element, hold, old.exit_reason)
        return Step(state, tuple(self.effects))


def is_ours(program: Compiled, props: Mapping[str, Any], element: str) -> bool:
    """Whether a message event's properties name `element` of this flow version."""
    return (
        props.get("element") == element
        and _same(props.get("flow"), program.flow_id)
        and _same(props.get("version"), program.version)
    )


def _same(value: Any, wanted: int) -> bool:
    """Ids compare as numbers; a text of digits (from a provider callback) counts too."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == wanted
    return isinstance(value, str) and value.strip() == str(wanted)
