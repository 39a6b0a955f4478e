"""The handler of one compiled element, and the registry that builds handlers by type.

A handler is built once per launched version (`compile_program`) from its element,
with its expressions and templates compiled. `enter` runs when a person arrives; the
`on_*` methods run when a stimulus reaches a person waiting at the element and answer
None when the stimulus is not for them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from tidings.domain.durations import parse_duration
from tidings.domain.flows.base import ElementBase
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.run import Move, Run
from tidings.domain.journey.types import EventArrived, ResultArrived


class Handler(ABC):
    """One element of a compiled flow."""

    # The event a person held here waits for when the element itself names it (a
    # wait_for_event's `event`): the same for everyone waiting here (`Program.awaited`).
    awaits: str | None = None

    def __init__(self, element: ElementBase) -> None:
        self.id = element.id
        nxt = element.next
        self._single: str | None = nxt if isinstance(nxt, str) else None
        self._map: Mapping[str, str] = dict(nxt) if isinstance(nxt, dict) else {}

    def target(self, outcome: str | None) -> str | None:
        """The element the person goes to after `outcome`; None is an open end (exit).

        A plain `next` takes every outcome; a map takes the outcomes it names."""
        if self._single is not None:
            return self._single
        if outcome is None:
            return None
        return self._map.get(outcome)

    @abstractmethod
    def enter(self, run: Run) -> Move:
        """A person arrives at the element."""

    def on_timer(self, run: Run) -> Move | None:
        """The person's `wake_at` has come."""
        return None

    def on_event(self, run: Run, event: EventArrived) -> Move | None:
        """An event of the person arrived while they wait here."""
        return None

    def on_result(self, run: Run, result: ResultArrived) -> Move | None:
        """The outcome of what this element asked for (a send, a call) arrived."""
        return None

    def uniform(self, moment: str) -> bool:
        """Whether `enter`, `on_timer` or `on_event` (moment "enter", "timer", "event")
        reads nothing of the person, their variables, local state, message events or the
        event's properties, and emits nothing but counts and trace lines: then it moves
        everyone at this element the same way at the same instant (`uniform.py`, which
        lets the engine apply it to many people at once). False unless a handler says so.
        """
        return False


F = TypeVar("F", bound=Callable[..., "Handler"])
Builder = Callable[[Any, Compiler], Handler]

BUILDERS: dict[type[ElementBase], Builder] = {}


def builds(*kinds: type[ElementBase]) -> Callable[[F], F]:
    """Register the handler class (or function) that compiles these element types; it
    is called with the element and the `Compiler`."""

    def register(fn: F) -> F:
        for kind in kinds:
            BUILDERS[kind] = fn
        return fn

    return register


def build(element: ElementBase, compiler: Compiler) -> Handler:
    """The handler of `element`, by its type."""
    return BUILDERS[type(element)](element, compiler)


def duration(compiler: Compiler, text: str | None, where: str) -> timedelta | None:
    """A compiled duration; None (and a problem) when it is missing or not valid."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        compiler.problems.append(f"{where}: {exc}")
        return None
