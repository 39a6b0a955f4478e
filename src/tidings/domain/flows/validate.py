"""Validation before launch: every problem of a document at once, each naming the element
(None for the flow itself), the field and what to do, in a marketer's words.

The shape was checked by `parse_document`; this checks meaning against what the account
holds (`ValidationContext`): references, expressions, templates, the graph.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tidings.domain.flows.check_actions
import tidings.domain.flows.check_branches
import tidings.domain.flows.check_calls
import tidings.domain.flows.check_messages
import tidings.domain.flows.check_waits  # noqa: F401  (the imports register the checks)
from tidings.domain.errors import Problem
from tidings.domain.flows.base import HHMM_RE
from tidings.domain.flows.checker import Checker, check_element
from tidings.domain.flows.context import ValidationContext
from tidings.domain.flows.document import FlowDocument
from tidings.domain.flows.entry import (
    ApiEntry,
    AudienceEntry,
    EventEntry,
    InboundEntry,
    SftpEntry,
)
from tidings.domain.flows.graph import busy_loops, reachable
from tidings.domain.flows.schedule import schedule_instant, schedule_zone
from tidings.domain.inbound import normal_number
from tidings.domain.values import ValueType

RESERVED = frozenset({"person", "event", "response", "item", "true", "false", "null"})
MIN_SFTP_POLL = timedelta(minutes=5)

__all__ = ["inbound_clash", "validate"]

Inbound = tuple[str, str, str | None]  # channel, number, keyword (None: every message)


def inbound_clash(entry: Inbound, taken: Inbound) -> str | None:
    """Why an inbound entry on `entry` cannot run beside one that holds `taken`: "number"
    (that one takes every message to the number), "keyword taken" (this one would take
    every message, and that one takes a keyword of it) or "keyword" (the same keyword);
    None when both can run. Numbers compare as the entries match them (`normal_number`:
    "+385..." and "385..." are one number)."""
    channel, number, keyword = entry
    if channel != taken[0] or normal_number(number) != normal_number(taken[1]):
        return None
    mine = keyword.strip().casefold() if keyword else None
    other = taken[2].strip().casefold() if taken[2] else None
    if other is None:
        return "number"
    if mine is None:
        return "keyword taken"
    return "keyword" if mine == other else None


def validate(doc: FlowDocument, ctx: ValidationContext) -> list[Problem]:
    """Every problem that stands between this document and launch; [] when none."""
    c = Checker(doc, ctx)
    _flow(c)
    _entry(c)
    _settings(c)
    _variables(c)
    for element in doc.elements:
        check_element(c, element)
    _graph(c)
    return c.problems


def _flow(c: Checker) -> None:
    c.require(c.doc.name, "name", "give the flow a name", None)
    if c.doc.timezone is not None and not _zone(c.doc.timezone):
        c.add("timezone", f"{c.doc.timezone!r} is not a time zone such as Europe/Zagreb")
    if not c.doc.elements:
        c.add("elements", "add at least one element after the entry")


def _zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _entry(c: Checker) -> None:
    entry = c.doc.entry
    if entry is None:
        c.add("entry", "choose how people enter the flow")
    elif isinstance(entry, AudienceEntry):
        _audience(c, entry)
    elif isinstance(entry, EventEntry):
        if c.require(entry.event, "entry.event", "choose the event that starts the flow", None):
            c.event(entry.event, "entry.event", None)
        scope = c.scope()
        c.expression(entry.where, "entry.where", None, scope=scope, condition=True)
        c.assign(entry.assign, "entry.assign", None, scope=scope, from_event=True)
    elif isinstance(entry, InboundEntry):
        _inbound(c, entry)
    elif isinstance(entry, SftpEntry):
        named = c.require(entry.connection, "entry.connection", "choose the SFTP connection", None)
        if named and entry.connection and not c.ctx.knows_sftp_connection(entry.connection):
            c.add("entry.connection", f"there is no SFTP connection {entry.connection!r}")
        c.require(entry.path, "entry.path", "enter the path of the files", None)
        c.duration(
            entry.every,
            "entry.every",
            None,
            at_least=MIN_SFTP_POLL,
            required="enter how often to look for new files",
        )
    elif isinstance(entry, ApiEntry):
        pass  # an API entry has nothing to check
    else:
        assert_never(entry)


def _audience(c: Checker, entry: AudienceEntry) -> None:
    if not entry.sources():
        c.add("entry", "choose who enters: segments, tags, people or companies")
    for i, segment in enumerate(entry.segments):
        if not c.ctx.knows_segment(segment):
            c.add(f"entry.segments.{i}", f"there is no segment {segment!r}")
    for i, tag in enumerate(entry.tags):
        if tag not in c.ctx.tags:
            c.add(f"entry.tags.{i}", f"there is no tag {tag!r}")


def _inbound(c: Checker, entry: InboundEntry) -> None:
    c.require(entry.channel, "entry.channel", "choose the channel", None)
    c.require(entry.number, "entry.number", "enter the number people write to", None)
    keyword = None
    if entry.keyword is not None and entry.channel == "voice":
        c.add("entry.keyword", "a call has no keyword: a voice entry takes every call")
    elif entry.keyword is not None:
        keyword = entry.keyword.strip().casefold()
        if not keyword or any(ch.isspace() for ch in keyword):
            c.add("entry.keyword", "a keyword is one word")
    if entry.channel and entry.number:
        number = entry.number.strip()
        for taken in sorted(c.ctx.taken_inbound, key=lambda t: (t[0], t[1], t[2] or "")):
            clash = inbound_clash((entry.channel, entry.number, entry.keyword), taken)
            if clash is None:
                continue
            taken_keyword = taken[2]
            if clash == "number":
                field, message = (
                    "entry.number",
                    f"another active flow takes every message to {number}",
                )
            elif clash == "keyword taken":
                field = "entry.number"
                message = (
                    f"another active flow takes keyword {taken_keyword!r} on {number}, "
                    "so this flow cannot take every message to it: add a keyword"
                )
            else:
                field = "entry.keyword"
                message = f"another active flow already takes keyword {entry.keyword!r} on {number}"
            c.add(field, message)
            break
    c.assign(entry.assign, "entry.assign", None, scope=c.scope(), from_event=True)


def _settings(c: Checker) -> None:
    settings = c.doc.settings
    reentry = settings.reentry
    c.duration(reentry.delay, "settings.reentry.delay", None)
    for i, limit in enumerate(reentry.limits):
        if limit.max < 1:
            c.add(f"settings.reentry.limits.{i}.max", "must be at least 1")
        c.duration(limit.per, f"settings.reentry.limits.{i}.per", None)
    # A wall time is read in the flow's zone; without one the account's, which only the
    # launch knows: UTC stands in for it here, to compare start and end.
    zone = schedule_zone(c.doc, "UTC")
    start = _schedule(c, settings.schedule.start, "settings.schedule.start", zone)
    end = _schedule(c, settings.schedule.end, "settings.schedule.end", zone)
    if start is not None and end is not None and end <= start:
        c.add("settings.schedule.end", "the end must come after the start")
    window = settings.send_window
    if window is not None:
        field = "settings.sendWindow"
        if not window.days:
            c.add(f"{field}.days", "choose at least one day")
        elif len(set(window.days)) != len(window.days):
            c.add(f"{field}.days", "names a day twice")
        if not HHMM_RE.match(window.from_):
            c.add(f"{field}.from", "must be a time of day such as 09:00")
        if window.to != "24:00" and not HHMM_RE.match(window.to):
            c.add(f"{field}.to", "must be a time of day such as 20:00 (or 24:00)")
        elif window.to == window.from_:
            c.add(f"{field}.to", "the window must not start and end at the same time")
        if window.timezone not in ("recipient", "flow") and not _zone(window.timezone):
            c.add(
                f"{field}.timezone", 'must be "recipient", "flow" or a zone such as Europe/Zagreb'
            )
    goal = settings.goal
    if goal is not None:
        event_types = None
        if c.require(goal.event, "settings.goal.event", "choose the goal event", None):
            event_types = c.event(goal.event, "settings.goal.event", None)
        scope = c.scope(event=event_types) if event_types is not None else None
        c.expression(goal.where, "settings.goal.where", None, scope=scope, condition=True)
        c.expression(goal.value, "settings.goal.value", None, scope=scope, expect=ValueType.decimal)


def _schedule(c: Checker, text: str | None, field: str, zone: str) -> datetime | None:
    if text is None:
        return None
    try:
        return schedule_instant(text, zone)
    except ValueError as exc:
        c.add(field, str(exc))
        return None


def _variables(c: Checker) -> None:
    seen: set[str] = set()
    mapped = _mapped_from_events(c)
    scope = c.scope()
    for i, variable in enumerate(c.doc.variables):
        field = f"variables.{i}"
        if variable.name in seen:
            c.add(f"{field}.name", f"another variable is already named {variable.name!r}")
        seen.add(variable.name)
        if variable.name in RESERVED:
            c.add(f"{field}.name", f"{variable.name!r} is a reserved name")
        if variable.type is ValueType.list:
            if variable.default is not None:
                c.add(f"{field}.default", "a list variable takes no default: an event fills it")
            if variable.name not in mapped:
                c.add(
                    f"{field}.type",
                    "a list variable can only be filled from an event's list property: "
                    "map it in the entry or in a wait for event element",
                )
            continue
        c.expression(variable.default, f"{field}.default", None, scope=scope, expect=variable.type)


def _mapped_from_events(c: Checker) -> set[str]:
    names: set[str] = set()
    if isinstance(c.doc.entry, EventEntry | InboundEntry):
        names.update(c.doc.entry.assign)
    for element in c.doc.elements:
        if element.type == "wait_for_event":
            names.update(element.assign)
    return names


def _graph(c: Checker) -> None:
    entry = c.doc.entry
    if entry is not None and entry.next is not None and entry.next not in c.ids:
        c.add("entry.next", f"leads to {entry.next!r}, which is not an element of this flow")
    for element in c.doc.elements:
        _next(c, element.id, element.outcomes(), element.next)
    if entry is not None:
        found = reachable(c.doc)
        for element in c.doc.elements:
            if element.id not in found:
                c.add("", "no path from the entry reaches this element", element.id)
    for loop in busy_loops(c.doc):
        names = ", ".join(loop)
        c.add(
            "next",
            f"the loop through {names} never waits, so a person would go round it without "
            "end: add a wait or wait for event element to it",
            loop[0],
        )


def _next(
    c: Checker, element: str, outcomes: tuple[str, ...], next_: str | dict[str, str] | None
) -> None:
    if next_ is None:
        return
    if isinstance(next_, str):
        if next_ not in c.ids:
            c.add("next", f"leads to {next_!r}, which is not an element of this flow", element)
        return
    if not outcomes:
        c.add("next", "this element leads on one way only: next must be one element id", element)
        return
    allowed = ", ".join(dict.fromkeys(outcomes))
    for key, target in next_.items():
        if key not in outcomes:
            c.add(f"next.{key}", f"{key!r} is not an outcome here; use {allowed}", element)
        elif target not in c.ids:
            c.add(
                f"next.{key}", f"leads to {target!r}, which is not an element of this flow", element
            )
