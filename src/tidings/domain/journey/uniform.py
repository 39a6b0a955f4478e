"""Uniform steps: a stimulus that moves everyone at an element the same way.

    move = uniform_move(program, "w", "timer", now)   # None: each person is stepped alone

A `wait` of a fixed duration whose timer comes, then an `exit`; a `wait_for_event` with
no condition whose event arrives, then another wait: nothing on such a path reads the
person, their variables or the event, so every participation standing at that element
with no element-local state (`local` empty) ends in the same place, with the same counts
and trace lines. The engine can then move thousands of them with a few set-based
statements instead of a step each (`engine/uniform.py`).

Whether a path is uniform is proved, not guessed: the step function runs once, for a
person who has nothing, and the answer counts only when every element it visited says
(`Handler.uniform`) that what it did there reads nothing of the person, and the step
emitted nothing but counts and trace lines. A non-uniform element anywhere on the path
(a segment, a wait `until` an expression) makes the answer None.

An entry may also pass send elements (`sends=True`; not under a send window): the path
is still everyone's, only each message differs. `personal_sends` then composes one
person's messages exactly as the send would (`messages.compose`), or answers None when
one of them would not go (no contact, a template that fails): that person's step is
different, and the engine leaves them to the general path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from tidings.domain.journey.elements.messages import Send, compose
from tidings.domain.journey.program import Program
from tidings.domain.journey.run import Run
from tidings.domain.journey.step import advance
from tidings.domain.journey.types import (
    Count,
    Entered,
    EventArrived,
    Person,
    Phase,
    SendMessage,
    State,
    Stimulus,
    TimerDue,
    Trace,
)

Moment = Literal["enter", "timer", "event"]
NOBODY: Final = Person(id=0, external_id=None, attributes={})
# Nobody, reachable: a send on the path goes (an empty template aside), so its lines are
# those of a message that went.
REACHABLE: Final = Person(
    id=0, external_id=None, attributes={}, phones=("+10000000000",), emails=("a@a.invalid",)
)


@dataclass(frozen=True)
class UniformMove:
    """Where everyone at `start` goes, and what each of them counts and traces."""

    start: str | None  # None: the entry
    phase: Phase
    element: str | None
    wake_at: datetime | None
    waiting_for: str | None
    waiting_element: str | None
    local: Mapping[str, Any]
    exit_reason: str | None
    variables: Mapping[str, Any]  # an entry's starting variables (all null); else untouched
    counts: tuple[Count, ...]  # but messagesSent, which each person's parts make
    lines: tuple[tuple[str | None, str, str | None], ...]  # trace lines, in order
    visited: tuple[str, ...]  # elements entered (their unique people are counted)
    sends: tuple[str, ...] = ()  # send elements on the path, in order (entries only)


def uniform_move(
    program: Program,
    start: str | None,
    moment: Moment,
    now: datetime,
    event: str | None = None,
    *,
    sends: bool = False,
) -> UniformMove | None:
    """The move of everyone waiting at `start` when their timer comes (`moment`
    "timer") or the awaited `event` arrives ("event"), or of everyone entering with no
    variables and no entry event ("enter", `start` None), at `now`; None when the path
    depends on who they are."""
    stimulus: Stimulus
    sends = sends and moment == "enter" and program.send_window is None
    person = REACHABLE if sends else NOBODY
    if moment == "enter":
        if start is not None or any(v.default is not None for v in program.variables):
            return None  # a default may read the person
    else:
        handler = program.handlers.get(start) if start is not None else None
        if handler is None or not handler.uniform(moment):
            return None
    if moment == "enter":
        stimulus = Entered({}, None, 0)
    elif moment == "event":
        if event is None or event.startswith("message."):
            return None  # message events are also recorded per participation
        if program.goal is not None and program.goal.event == event:
            return None  # the goal reads the event and counts once per participation
        stimulus = EventArrived(event, {}, now)
    else:
        stimulus = TimerDue()
    state = State(
        participation_id=0,
        flow_id=program.flow_id,
        version=program.version,
        person=person,
        phase=Phase.running if moment == "enter" else Phase.waiting,
        element=start,
        variables={},
        entry_event=None,
        entered_at=now,
        wake_at=now if moment == "timer" else None,
        waiting_for=event,
    )
    step = advance(program, state, stimulus, now)
    after = step.state
    if after is state:
        return None  # not moved: the stimulus was not for them
    counts: list[Count] = []
    lines: list[tuple[str | None, str, str | None]] = []
    visited: list[str] = []
    sent: list[str] = []
    for effect in step.effects:
        if isinstance(effect, Count):
            if effect.name == "messagesSent" and sends:
                continue
            counts.append(effect)
            if effect.name == "totalEngagements" and effect.element is not None:
                visited.append(effect.element)
        elif isinstance(effect, Trace):
            lines.append((effect.element, effect.what, effect.why))
        elif sends and isinstance(effect, SendMessage) and not effect.wants_result:
            sent.append(effect.element)
        else:
            return None  # a call, a profile change, a send elsewhere: per person
    for element in visited:
        found = program.handlers.get(element)
        if found is None:
            return None
        if not found.uniform("enter") and not (sends and isinstance(found, Send)):
            return None
    if [e for e in visited if isinstance(program.handlers[e], Send)] != sent:
        return None  # a send did not go for nobody: its lines would not be everyone's
    if after.person is not person or after.message_events or after.entry_event is not None:
        return None
    if any(v is not None for v in after.variables.values()):
        return None
    if moment != "enter" and after.variables:
        return None
    return UniformMove(
        start=start,
        phase=after.phase,
        element=after.element,
        wake_at=after.wake_at,
        waiting_for=after.waiting_for,
        waiting_element=after.waiting_element,
        local=dict(after.local),
        exit_reason=after.exit_reason,
        variables=dict(after.variables),
        counts=tuple(counts),
        lines=tuple(lines),
        visited=tuple(visited),
        sends=tuple(sent),
    )


def personal_sends(
    program: Program, move: UniformMove, person: Person, now: datetime
) -> tuple[SendMessage, ...] | None:
    """`person`'s messages on an entry `move` with sends, composed as the send elements
    would compose them; None when one of them would not go for this person."""
    state = State(
        participation_id=0,
        flow_id=program.flow_id,
        version=program.version,
        person=person,
        phase=Phase.running,
        element=None,
        variables=move.variables,
        entry_event=None,
        entered_at=now,
    )
    run = Run(program, state, now)
    out = []
    for element in move.sends:
        handler = program.handlers[element]
        assert isinstance(handler, Send)
        message = compose(run, element, handler.content)
        if isinstance(message, str):
            return None
        out.append(message)
    return tuple(out)
