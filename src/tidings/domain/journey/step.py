"""The step function: `advance(program, state, stimulus, now) -> Step`.

Pure: no I/O, no clock (time is `now`), no randomness (a split hashes the person). It
applies one stimulus and runs element handlers from where the person stands until they
must wait (a timer, an event, an outside result) or leave the flow:

- `Entered`: count the entry, set the variables (`entry.py`), walk from the first element;
- `TimerDue`: resume the element the person waits at, if `wake_at` has come (else no-op);
- `EventArrived`: record message events of this flow's send elements (for `clicked()`
  and friends), count the goal if the event meets it (once per participation,
  `entry.reach_goal`), then offer the event to the element the person waits at;
- `ResultArrived`: the outcome of a send or an API call, for the element that asked;
- `Canceled`: leave with the stimulus's reason.

A stimulus that is not for the person (a timer not yet due, an event nobody awaits, a
stale result) returns the state as it was. A person who has left is never moved again.
At most `MAX_VISITS` elements are visited in one step: a loop that never waits (which
validation refuses) ends with the exit reason "loop" instead of spinning.

Cost (timeit, best of 5 x 20,000, Python 3.11, one core of this machine; measured by
`python -m tests.domain.journey.bench_step`), on DESIGN.md's cart-abandonment flow:
`Entered` -> defaults and assign -> SMS rendered (template fast path) with its parts
counted -> `wait_for_event`: 20 µs per advance (10 effects); `TimerDue` -> timeout ->
email -> exit: 12.5 µs; the awaited event -> `update_profile` -> exit: 12.3 µs; an event
nobody awaits: 1.6 µs (23, 15, 16 and 1.6 µs while person, state, counts, trace lines and
the step were frozen dataclasses rather than named tuples). `compile_program` of that
flow: about 150 µs, once per version.

The send window and the goal (that flow has both) add, best of 6 runs against the code
before them on a busy machine: 1.8 µs to the SMS (one wall-clock reading), 1.1 µs to the
email, 3.5 µs to the purchase (it is the goal event: evaluated, counted, traced). The
same flow without window and goal costs what it did (20.8 -> 21.4, 13.2 -> 13.3, 12.5 ->
12.5, 1.4 -> 1.5 µs): whether to look is decided when the version is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final, assert_never

from tidings.domain.journey.elements import Handler
from tidings.domain.journey.entry import reach_goal, start
from tidings.domain.journey.program import Program
from tidings.domain.journey.run import Go, Hold, Leave, Move, Run, is_ours
from tidings.domain.journey.types import (
    Canceled,
    Entered,
    EventArrived,
    Phase,
    ResultArrived,
    State,
    Step,
    Stimulus,
    TimerDue,
)

MAX_VISITS: Final = 1000
MESSAGE_KINDS: Final = frozenset({"delivered", "failed", "seen", "clicked"})


def advance(program: Program, state: State, stimulus: Stimulus, now: datetime) -> Step:
    """Apply `stimulus` to the participation at instant `now` (aware)."""
    if state.phase is Phase.exited:
        return Step(state, ())
    run = Run(program, state, now)
    waiting = state.phase is Phase.waiting
    handler = program.handlers.get(state.element) if state.element is not None else None
    move: Move | None = None
    match stimulus:
        case Entered():
            if state.element is not None:
                return Step(state, ())  # entered already
            start(run, stimulus)
            return _walk(run, None, program.first, 0)
        case TimerDue():
            due = state.wake_at is not None and state.wake_at <= now
            if waiting and due and handler is not None:
                move = handler.on_timer(run)
        case EventArrived():
            _record(run, stimulus)
            if program.goal is not None:
                reach_goal(run, stimulus)
            if waiting and handler is not None:
                move = handler.on_event(run, stimulus)
        case ResultArrived():
            if waiting and handler is not None and stimulus.element == handler.id:
                move = handler.on_result(run, stimulus)
        case Canceled():
            return run.leave(state.element, stimulus.reason)
        case _:
            assert_never(stimulus)
    if move is None or handler is None:
        return run.unmoved()
    return _follow(run, handler, move, 0)


def _follow(run: Run, handler: Handler, move: Move, visits: int) -> Step:
    """Carry out `move`, made by `handler`, walking on while the person need not wait."""
    match move:
        case Hold():
            return run.hold(handler.id, move)
        case Leave():
            return run.leave(handler.id, move.reason)
        case Go():
            return _walk(run, handler, handler.target(move.outcome), visits)
        case _:
            assert_never(move)


def _walk(run: Run, came_from: Handler | None, target: str | None, visits: int) -> Step:
    """Visit `target` and the elements after it until one holds the person or they
    leave; `came_from` is where an open end (no target) leaves from."""
    handlers: Mapping[str, Handler] = run.program.handlers
    here = came_from.id if came_from is not None else None
    while True:
        if target is None:
            return run.leave(here, "completed")
        handler = handlers.get(target)
        if handler is None:
            run.trace(here, "no such element", target)
            return run.leave(here, "completed")
        visits += 1
        if visits > MAX_VISITS:
            run.trace(target, "loop", f"{MAX_VISITS} elements in one step without a wait")
            return run.leave(target, "loop")
        here = target
        run.count("totalEngagements", target)
        run.trace(target, "entered")
        move = handler.enter(run)
        match move:
            case Go():
                target = handler.target(move.outcome)
            case Hold() | Leave():
                return _follow(run, handler, move, visits)
            case _:
                assert_never(move)


def _record(run: Run, event: EventArrived) -> None:
    """Remember a message event of one of this flow version's send elements."""
    name = event.name
    if not name.startswith("message."):
        return
    kind = name[len("message.") :]
    props = event.properties
    element = props.get("element")
    if kind not in MESSAGE_KINDS or not isinstance(element, str):
        return
    if element not in run.program.sends or (element, kind) in run.message_events:
        return
    if is_ours(run.program, props, element):
        run.message_events = run.message_events | {(element, kind)}
