"""Checks of the elements that wait."""

from __future__ import annotations

from tidings.domain.flows.base import HHMM_RE
from tidings.domain.flows.checker import MESSAGE_EVENT, MESSAGE_EVENTS, Checker, Types, checks
from tidings.domain.flows.waits import Wait, WaitForEvent
from tidings.domain.values import ValueType


@checks(Wait)
def _wait(c: Checker, element: Wait) -> None:
    given = [
        n
        for n, v in (("duration", element.duration), ("until", element.until), ("at", element.at))
        if v is not None
    ]
    if not given:
        c.add("duration", "choose how long to wait: a duration, until or at", element.id)
    elif len(given) > 1:
        c.add(
            given[1],
            f"use only one of duration, until and at (found {', '.join(given)})",
            element.id,
        )
    c.duration(element.duration, "duration", element.id)
    c.expression(element.until, "until", element.id, scope=c.scope(), expect=ValueType.datetime)
    if element.at is not None and not HHMM_RE.match(element.at):
        c.add("at", "must be a time of day such as 09:00", element.id)


@checks(WaitForEvent)
def _wait_for_event(c: Checker, element: WaitForEvent) -> None:
    e = element.id
    event_types: Types | None = None
    if element.element is not None:
        target = c.doc.element(element.element)
        if target is None:
            c.add("element", f"there is no element {element.element!r} in this flow", e)
        elif element.element not in c.sends:
            c.add("element", f"{element.element!r} sends no message to wait for", e)
        if element.event is not None and element.event not in MESSAGE_EVENTS:
            c.add("event", f"with element, the event must be one of {', '.join(MESSAGE_EVENTS)}", e)
        event_types = MESSAGE_EVENT
    elif c.require(element.event, "event", "choose the event to wait for", e):
        event_types = c.event(element.event, "event", e)
    c.duration(element.timeout, "timeout", e, required="enter how long to wait at most")
    # Inside this element, event.x is the awaited event.
    scope = c.scope(event=event_types) if event_types is not None else None
    c.expression(element.where, "where", e, scope=scope, condition=True)
    c.assign(element.assign, "assign", e, scope=scope, from_event=True)
