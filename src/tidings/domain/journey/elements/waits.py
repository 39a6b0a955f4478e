"""Waiting elements: `wait` (for a time) and `wait_for_event` (for an event, or a timeout).

A wait holds the person with a `wake_at`; the shell delivers `TimerDue` once it has come.
`wait` `at` "09:00" picks the next such wall-clock time in the person's zone, else the
flow's, else the account's (see `clock.py` for the days clocks change). `until` is read
on that same wall clock: its date functions (`today()`, `dateAdd` by days, `datetime` of
a text without offset) use the person's zone, so "tomorrow 09:00" is the person's. A wait whose
instant is already past (an `until` in the past, or one that gives no instant) does not
hold the person at all: they go straight on, and the trace says why.

`wait_for_event` holds the person until the event (`waiting_for`), or a message event of
a send element (`waiting_element`), arrives and its `where` holds; inside `where` and
`assign`, `event.x` is the awaited event's property.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tidings.domain.durations import parse_instant
from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.expressions.runtime import instant_text
from tidings.domain.flows.waits import Wait, WaitForEvent
from tidings.domain.journey.clock import first_zone, next_time_of_day, person_zone_name, time_of_day
from tidings.domain.journey.compiler import Compiler, OpenFields
from tidings.domain.journey.elements.base import Handler, builds, duration
from tidings.domain.journey.run import Go, Hold, Move, Run, is_ours
from tidings.domain.journey.types import EventArrived
from tidings.domain.values import ValueType

MESSAGE_PREFIX = "message."


@builds(Wait)
class WaitHandler(Handler):
    """Hold the person for a duration, until an instant, or until a time of day."""

    def __init__(self, element: Wait, compiler: Compiler) -> None:
        super().__init__(element)
        self.duration = duration(compiler, element.duration, f"{element.id}.duration")
        self.until = compiler.expression(
            element.until, f"{element.id}.until", expect=ValueType.datetime
        )
        self.at = time_of_day(element.at)
        if element.at is not None and self.at is None:
            compiler.problems.append(f"{element.id}.at: {element.at!r} is not a time of day")

    def enter(self, run: Run) -> Move:
        wake, why = self._wake_at(run)
        if wake is None or wake <= run.now:
            run.trace(self.id, "no wait", why)
            return Go()
        run.trace(self.id, "wait", f"until {instant_text(wake)}")
        return Hold(wake_at=wake)

    def _wake_at(self, run: Run) -> tuple[datetime | None, str]:
        if self.duration is not None:
            return run.now + self.duration, "the duration is not positive"
        if self.until is not None:
            value = run.evaluate(self.until, timezone=_zone_name(run))
            if value is None:
                return None, f"until gives no instant: {self.until.source}"
            return _instant(value), f"until is past: {value}"
        if self.at is not None:
            return next_time_of_day(run.now, self.at, self._zone(run)), ""
        return None, "the wait has no duration, until or at"

    def _zone(self, run: Run) -> tzinfo:
        return first_zone(_zone_name(run))

    def on_timer(self, run: Run) -> Move:
        return Go()

    def uniform(self, moment: str) -> bool:
        # `until` and `at` read the person's variables or zone; a duration does not.
        return moment == "timer" or (moment == "enter" and self.duration is not None)


@builds(WaitForEvent)
class WaitForEventHandler(Handler):
    """Hold the person until an event (with `where`) arrives, or the timeout."""

    def __init__(self, element: WaitForEvent, compiler: Compiler) -> None:
        super().__init__(element)
        self.event = element.event
        self.awaits = element.event
        self.element = element.element
        if element.element is not None:
            fields = OpenFields(STANDARD_EVENTS["message.delivered"])
        else:
            fields = compiler.event_fields(element.event)
        scope = compiler.scope(event=fields)
        self.where = compiler.condition(element.where, f"{element.id}.where", scope=scope)
        self.assign = compiler.assignments(element.assign, f"{element.id}.assign", scope=scope)
        self.timeout = duration(compiler, element.timeout, f"{element.id}.timeout")

    def enter(self, run: Run) -> Move:
        wake = run.now + self.timeout if self.timeout is not None else None
        awaited = self.event or "any message event"
        if self.element is not None:
            awaited = f"{awaited} of {self.element}"
        until = f" until {instant_text(wake)}" if wake is not None else ""
        run.trace(self.id, "waiting for", awaited + until)
        return Hold(wake_at=wake, waiting_for=self.event, waiting_element=self.element)

    def on_timer(self, run: Run) -> Move:
        run.trace(self.id, "outcome", "timeout")
        return Go("timeout")

    def on_event(self, run: Run, event: EventArrived) -> Move | None:
        if not self._awaits(run, event):
            return None
        props = event.properties
        if self.where is not None and not run.evaluate(self.where, event=props):
            run.trace(self.id, "event ignored", f"{event.name}: not {self.where.source}")
            return None
        run.assign(self.assign, self.id, event=props)
        run.trace(self.id, "outcome", f"event {event.name}")
        return Go("event")

    def uniform(self, moment: str) -> bool:
        if moment == "event":  # a plain named event, with no condition and no assign
            return self.element is None and self.where is None and not self.assign
        return moment in ("enter", "timer")

    def _awaits(self, run: Run, event: EventArrived) -> bool:
        if self.element is None:
            return event.name == self.event
        if not event.name.startswith(MESSAGE_PREFIX):
            return False
        if self.event is not None and event.name != self.event:
            return False
        return is_ours(run.program, event.properties, self.element)


def _zone_name(run: Run) -> str:
    return person_zone_name(run.person, run.program.timezone)


def _instant(value: Any) -> datetime | None:
    try:
        return parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None
