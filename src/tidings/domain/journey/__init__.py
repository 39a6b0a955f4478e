"""Journeys: the pure step function over compiled flow programs.

    program = compile_program(document, flow_id=7, version=1, account_timezone="UTC")
    step = advance(program, state, stimulus, now)     # -> Step(state', effects)

`types.py` is the vocabulary (state, stimuli, effects); `program.py` compiles a version;
`step.py` is `advance`; `elements/` holds one module per element family; `entry.py` the
starting variables, the entry condition and the goal check.
"""

from tidings.domain.journey.entry import GoalHit, admits, goal_reached
from tidings.domain.journey.program import Program, compile_program
from tidings.domain.journey.run import GoalSpec, VariableSpec
from tidings.domain.journey.step import MAX_VISITS, advance
from tidings.domain.journey.types import (
    AddToFlow,
    CallApi,
    Canceled,
    Count,
    Effect,
    Entered,
    EventArrived,
    LookupCatalog,
    Notify,
    Person,
    Phase,
    ResultArrived,
    SendMessage,
    State,
    Step,
    Stimulus,
    TimerDue,
    Trace,
    UpdateProfile,
)

__all__ = [
    "MAX_VISITS",
    "AddToFlow",
    "CallApi",
    "Canceled",
    "Count",
    "Effect",
    "Entered",
    "EventArrived",
    "GoalHit",
    "GoalSpec",
    "LookupCatalog",
    "Notify",
    "Person",
    "Phase",
    "Program",
    "ResultArrived",
    "SendMessage",
    "State",
    "Step",
    "Stimulus",
    "TimerDue",
    "Trace",
    "UpdateProfile",
    "VariableSpec",
    "admits",
    "advance",
    "compile_program",
    "goal_reached",
]
