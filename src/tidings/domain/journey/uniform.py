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

An entry with an event (`EntryPlan`) may also pass deciders (`segment`, `split`): each
person chooses with the decider's own code (`Decider.choose`), and the path after each
choice is proved as above, by the real step function run for nobody with the choices
made so far forced. The paths are explored lazily, one per sequence of choices people
actually make. Each person's starting variables (defaults, the entry's `assign`) are
theirs, computed by the step's own `start`; a person whose start says more than
nobody's (a value that did not fit) is left to the general path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple

from tidings.domain.journey.elements.base import Handler
from tidings.domain.journey.elements.branches import Choice, Decider
from tidings.domain.journey.elements.messages import Send, compose
from tidings.domain.journey.entry import start as start_entry
from tidings.domain.journey.needs import Needs, Path, message_reads, needs_of
from tidings.domain.journey.program import Program
from tidings.domain.journey.run import Move, Run
from tidings.domain.journey.step import advance
from tidings.domain.journey.types import (
    Count,
    Effect,
    Entered,
    EventArrived,
    Person,
    Phase,
    SendMessage,
    State,
    Step,
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
MAX_PATHS: Final = 256  # sequences of choices explored in one plan; past that, per person


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
    move = _judge(program, start, state, step, sends=sends)
    if move is None or any(v is not None for v in move.variables.values()):
        return None
    if moment != "enter" and move.variables:
        return None
    return move


def _judge(
    program: Program, start: str | None, state: State, step: Step, *, sends: bool
) -> UniformMove | None:
    """The move `step` made from `state` when it is everyone's: every element it visited
    is uniform (a send when `sends`, a decider whose choice was forced), and it emitted
    nothing but counts, trace lines and those sends' messages. Its variables are not
    judged here: they are the caller's to compare."""
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
        if isinstance(found, _Forced):
            continue
        if not found.uniform("enter") and not (sends and isinstance(found, Send)):
            return None
    if [e for e in visited if isinstance(program.handlers[e], Send)] != sent:
        return None  # a send did not go for nobody: its lines would not be everyone's
    if after.person is not state.person or after.message_events or after.entry_event is not None:
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
    state = _entering(program, person, now)._replace(variables=move.variables)
    return _compose(Run(program, state, now), move.sends)


def entry_data(program: Program, move: UniformMove, now: datetime) -> dict[str, Any]:
    """What templates on an entry `move` read that is the same for everyone entering at
    `now` (its variables, no entry event, `now`), as `Run.template_data` gives it; its
    `person` is nobody's."""
    state = _entering(program, NOBODY, now)._replace(variables=move.variables)
    return Run(program, state, now).template_data()


def _entering(program: Program, person: Person, now: datetime) -> State:
    """`person` entering `program` at `now`, before the entry's first step."""
    return State(
        participation_id=0,
        flow_id=program.flow_id,
        version=program.version,
        person=person,
        phase=Phase.running,
        element=None,
        variables={},
        entry_event=None,
        entered_at=now,
    )


def _compose(run: Run, sends: tuple[str, ...]) -> tuple[SendMessage, ...] | None:
    """The messages of the send elements `sends` for the run's person; None when one of
    them would not go."""
    out = []
    for element in sends:
        handler = run.program.handlers[element]
        assert isinstance(handler, Send)
        message = compose(run, element, handler.content)
        if isinstance(message, str):
            return None
        out.append(message)
    return tuple(out)


# --- entries with an event, through deciders --------------------------------------------------


@dataclass(frozen=True, eq=False)
class Leaf:
    """One proved path of an entry: everyone whose choices lead here moves by `move`."""

    move: UniformMove
    choices: tuple[tuple[str, Choice], ...]


class PersonalEntry(NamedTuple):
    """One person's entry on a plan: the path, and what is theirs on it."""

    leaf: Leaf
    variables: dict[str, Any]
    entry_event: Mapping[str, Any] | None
    messages: tuple[SendMessage, ...]


class _Undecided(Exception):  # a signal inside the proof, never an error
    """The walk reached a decider whose choice is not made yet."""

    def __init__(self, element: str) -> None:
        super().__init__(element)
        self.element = element


class _Forced(Handler):
    """A decider with its choice made (the walk for nobody follows it), or not yet made
    (the walk stops there, `_Undecided`)."""

    def __init__(self, decider: Decider, choice: Choice | None) -> None:
        self.id = decider.id
        self.decider = decider
        self.choice = choice

    def target(self, outcome: str | None) -> str | None:
        return self.decider.target(outcome)

    def enter(self, run: Run) -> Move:
        if self.choice is None:
            raise _Undecided(self.id)
        return self.decider.follow(run, self.choice)


class EntryPlan:
    """How people enter `program` at `now`, each with their own entry event:

        plan = EntryPlan(program, now)
        entry = plan.enter(person, event)  # None: the general path steps them

    The paths are proved the first time someone's choices lead down them (at most
    `MAX_PATHS`), so a plan is made per batch and costs a step per path taken."""

    def __init__(self, program: Program, now: datetime) -> None:
        self.program = program
        self.now = now
        self.sends = program.send_window is None
        self._paths: dict[tuple[tuple[str, Choice], ...], Leaf | str | None] = {}
        nobody = _entering(self.program, REACHABLE if self.sends else NOBODY, self.now)
        run = Run(program, nobody, now)
        start_entry(run, Entered({}, None, 0))
        self._start: tuple[Effect, ...] = tuple(run.effects)
        self._variables = run.variables

    def enter(self, person: Person, event: Mapping[str, Any] | None) -> PersonalEntry | None:
        """`person`'s entry with the entry event `event`, when it is on a proved path and
        their messages go; None when the general path must step them."""
        program = self.program
        run = Run(program, _entering(program, person, self.now), self.now)
        start_entry(run, Entered({}, event, 0))
        if tuple(run.effects) != self._start:
            return None  # their start traced something (a value that did not fit)
        choices: tuple[tuple[str, Choice], ...] = ()
        while True:
            node = self._path(choices)
            if node is None:
                return None
            if isinstance(node, Leaf):
                break
            decider = program.handlers[node]
            assert isinstance(decider, Decider)
            choices = (*choices, (node, decider.choose(run)))
        messages = _compose(run, node.move.sends) if node.move.sends else ()
        if messages is None:
            return None
        return PersonalEntry(node, run.variables, run.entry_event, messages)

    def _path(self, choices: tuple[tuple[str, Choice], ...]) -> Leaf | str | None:
        """Where nobody goes with `choices` forced: a proved leaf, the decider that must
        choose next, or None (not everyone's)."""
        if choices in self._paths:
            return self._paths[choices]
        if len(self._paths) >= MAX_PATHS:
            return None
        program = self.program
        chosen = dict(choices)
        handlers = {
            key: _Forced(handler, chosen.get(key)) if isinstance(handler, Decider) else handler
            for key, handler in program.handlers.items()
        }
        forced = replace(program, handlers=handlers)
        state = _entering(self.program, REACHABLE if self.sends else NOBODY, self.now)
        node: Leaf | str | None
        try:
            step = advance(forced, state, Entered({}, None, 0), self.now)
        except _Undecided as undecided:
            node = undecided.element
        else:
            move = _judge(forced, None, state, step, sends=self.sends)
            kept = move is not None and move.variables == self._variables
            node = Leaf(move, choices) if move is not None and kept else None
        self._paths[choices] = node
        return node


def entry_needs(programs: Iterable[Program]) -> Needs:
    """What of a person entries on plans of `programs` read (their load may leave out the
    rest, `store.journeys.load_people`): the entry's `where` and `assign`, the variables'
    defaults, every decider's conditions and every send's message."""
    paths: list[Path | None] = []
    lists: set[str] = set()
    for program in programs:
        sends, contacts = message_reads(
            h.content for h in program.handlers.values() if isinstance(h, Send)
        )
        paths += sends
        lists |= contacts
        expressions = [program.entry_where, *(e for _, e in program.entry_assign)]
        expressions += [v.default for v in program.variables]
        for handler in program.handlers.values():
            if isinstance(handler, Decider):
                expressions += handler.conditions()
        paths += [
            tuple(name.split("."))
            for expression in expressions
            if expression is not None
            for name in expression.names
        ]
    return needs_of(paths, lists)
