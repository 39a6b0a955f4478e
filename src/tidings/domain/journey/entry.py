"""Coming into a flow and reaching its goal: the entry condition, the starting variables,
and the goal check.

On `Entered`, variables start in three layers, mapped first, defaulted last:

1. the entry's `assign` over the entry event, when there is one;
2. the variables the stimulus gives (the Flow API's), coerced to the declared types.
   A value that does not fit, or a name the flow does not declare, is left out with a
   trace; a null keeps the default;
3. every declared variable still null, at its `default` (an expression; may read
   `event.x`, `person.x` and the variables mapped above; in declared order, so a default
   may use an earlier variable's default), else null.

`admits` (an inbound entry's channel, number and keyword; an event entry's `where`) is for
the shell, on the general and the set-based path alike: whether an event lets a person in.

The goal: an event of a person inside the flow (between entry and exit; the entry event
itself is not one) that is the goal's event and meets its `where` makes them a goal
performer, once per participation (`reach_goal`, run by the step on `EventArrived`; the
instant is kept in the participation's local state under `GOAL`). It counts
`goalPerformers` and, when the goal has a `value`, adds that number to `goalValueMicros`
in millionths (counters are whole numbers; 19.99 adds 19,990,000). Only the event that
made the person a performer adds its value: a second purchase in the same participation
counts neither again. `goal_reached` is the same check without the bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from tidings.domain.expressions import EvalContext
from tidings.domain.journey.program import Program
from tidings.domain.journey.run import GOAL, PersonView, Run
from tidings.domain.journey.types import Entered, EventArrived, Person, State
from tidings.domain.values import ValueType, coerce

MICROS: Final = 1_000_000
MAX_VALUE_MICROS: Final = 2**62  # one goal value; the sum has room for many in BIGINT


def start(run: Run, entered: Entered) -> None:
    """Count the entry and set the starting variables (see the module docstring)."""
    program = run.program
    run.entry_event = dict(entered.event) if entered.event is not None else None
    run.hops = entered.hops
    run.count("profilesInFlow")
    run.trace(None, "entered")
    run.variables = dict.fromkeys(program.types)
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
    for spec in program.variables:
        if spec.default is None or run.variables.get(spec.name) is not None:
            continue
        value = run.evaluate(spec.default)
        try:
            run.variables[spec.name] = coerce(value, spec.type)
        except ValueError:
            run.variables[spec.name] = None


def admits(
    program: Program, person: Person, event: Mapping[str, Any] | None, now: datetime
) -> bool:
    """Whether the entry lets this person in on this event: an inbound entry takes only
    the messages to its channel, number and keyword (`InboundMatch`); an event entry's
    `where` must hold (True without one)."""
    if program.entry_inbound is not None and not program.entry_inbound.matches(event or {}):
        return False
    if program.entry_where is None:
        return True
    ctx = EvalContext(
        variables={},
        person=PersonView(person),
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
    return goal_hit(Run(program, state, now), event)


def goal_hit(run: Run, event: EventArrived) -> GoalHit | None:
    """`goal_reached` inside a step (the run's variables and message events)."""
    goal = run.program.goal
    if goal is None or event.name != goal.event:
        return None
    props = event.properties
    if goal.where is not None and not run.evaluate(goal.where, event=props):
        return None
    value = run.evaluate(goal.value, event=props) if goal.value is not None else None
    try:
        number = coerce(value, ValueType.decimal) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    return GoalHit(number)


def reach_goal(run: Run, event: EventArrived) -> None:
    """Count the person as a goal performer if `event` meets the goal and they have not
    met it yet in this participation (see the module docstring)."""
    if run.goal_at is not None or GOAL in run.state.local:
        return
    hit = goal_hit(run, event)
    if hit is None:
        return
    run.goal_at = run.now_text()
    run.count("goalPerformers")
    why = event.name
    micros = value_micros(hit.value)
    if micros or hit.value == 0:
        run.goal_value = hit.value
    if micros:
        run.count("goalValueMicros", None, micros)
        why = f"{event.name}, value {hit.value}"
    elif hit.value is None and run.program.goal is not None and run.program.goal.value:
        why = f"{event.name}, no value ({run.program.goal.value.source} is not a number)"
    run.trace(run.state.element, "goal reached", why)


def value_micros(value: int | float | None) -> int:
    """A goal value in millionths, rounded half to even; 0 for none or one out of range."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return 0
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    micros = int((exact * MICROS).to_integral_value(rounding=ROUND_HALF_EVEN))
    return micros if abs(micros) < MAX_VALUE_MICROS else 0
