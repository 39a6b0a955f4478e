"""Coming into a flow and reaching its goal: the entry condition, the starting variables,
and the goal check.

On `Entered`, variables start in three layers, each over the one before:

1. every declared variable, at its `default` (an expression; may read `event.x` and
   `person.x`; declared order, so a default may use an earlier variable), else null;
2. the entry's `assign` over the entry event, when there is one;
3. the variables the stimulus gives (the Flow API's), coerced to the declared types.
   A value that does not fit, or a name the flow does not declare, is left out with a
   trace; a null keeps the default.

`admits` (the entry's `where`) and `goal_reached` are for the shell: whether an event lets
a person in, and whether an event of a person in the flow meets the goal (and its value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidings.domain.expressions import EvalContext
from tidings.domain.journey.program import Program
from tidings.domain.journey.run import Run, person_data
from tidings.domain.journey.types import Entered, EventArrived, Person, State
from tidings.domain.values import coerce


def start(run: Run, entered: Entered) -> None:
    """Count the entry and set the starting variables (see the module docstring)."""
    program = run.program
    run.entry_event = dict(entered.event) if entered.event is not None else None
    run.count("profilesInFlow")
    run.trace(None, "entered")
    run.variables = {}
    for spec in program.variables:
        value = run.evaluate(spec.default) if spec.default is not None else None
        try:
            run.variables[spec.name] = coerce(value, spec.type)
        except ValueError:
            run.variables[spec.name] = None
    if run.entry_event is not None:
        run.assign(program.entry_assign, None)
    for name, value in entered.variables.items():
        kind = program.types.get(name)
        if kind is None:
            run.trace(None, "variable ignored", f"{name}: not a variable of this flow")
            continue
        if value is None:
            continue
        try:
            run.variables[name] = coerce(value, kind)
        except ValueError as exc:
            run.trace(None, "variable ignored", f"{name}: {exc}; kept the default")


def admits(
    program: Program, person: Person, event: Mapping[str, Any] | None, now: datetime
) -> bool:
    """Whether the entry's `where` lets this person in on this event (True without one)."""
    if program.entry_where is None:
        return True
    ctx = EvalContext(
        variables={},
        person=person_data(person),
        event=event,
        now=now,
        timezone=program.timezone,
    )
    return bool(program.entry_where.evaluate(ctx))


@dataclass(frozen=True)
class GoalHit:
    """The goal was met; `value` is the goal's value expression (None without one)."""

    value: int | float | None


def goal_reached(
    program: Program, state: State, event: EventArrived, now: datetime
) -> GoalHit | None:
    """A GoalHit when `event` is the flow's goal event and meets its `where`."""
    goal = program.goal
    if goal is None or event.name != goal.event:
        return None
    ctx = EvalContext(
        variables=state.variables,
        person=person_data(state.person),
        event=event.properties,
        now=now,
        timezone=program.timezone,
        message_events=lambda element, kind: (element, kind) in state.message_events,
    )
    if goal.where is not None and not goal.where.evaluate(ctx):
        return None
    value = goal.value.evaluate(ctx) if goal.value is not None else None
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return GoalHit(number)
