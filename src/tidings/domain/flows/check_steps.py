"""Checks of the elements that wait, branch and act on data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from tidings.domain.catalogs import with_key
from tidings.domain.flows.actions import (
    AddToFlow,
    CallApi,
    CatalogLookup,
    EvaluateInbound,
    UpdateProfile,
    UpdateVariable,
)
from tidings.domain.flows.base import HHMM_RE, Branch
from tidings.domain.flows.checker import MESSAGE_EVENT, MESSAGE_EVENTS, Checker, Types, checks
from tidings.domain.flows.control import Exit, Segment, Split, Wait, WaitForEvent
from tidings.domain.values import ValueType

_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_API_TIMEOUT = timedelta(seconds=60)
MAX_RETRIES = 5


def branch_names(c: Checker, branches: Sequence[Branch], element: str, *, otherwise: bool) -> None:
    """At least one branch, unique names, `otherwise` kept for the fallback."""
    if not branches:
        c.add("branches", "add at least one branch", element)
    seen: set[str] = set()
    for i, branch in enumerate(branches):
        if branch.name in seen:
            c.add(f"branches.{i}.name", f"two branches are named {branch.name!r}", element)
        seen.add(branch.name)
        if otherwise and branch.name == "otherwise":
            c.add(f"branches.{i}.name", "'otherwise' is the name of the fallback", element)


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


@checks(Segment)
def _segment(c: Checker, element: Segment) -> None:
    branch_names(c, element.branches, element.id, otherwise=True)
    scope = c.scope()
    for i, branch in enumerate(element.branches):
        field = f"branches.{i}.when"
        if branch.when is None:
            c.add(field, "enter the condition of this branch", element.id)
        c.expression(branch.when, field, element.id, scope=scope, condition=True)


@checks(Split)
def _split(c: Checker, element: Split) -> None:
    branch_names(c, element.branches, element.id, otherwise=False)
    if len(element.branches) == 1:
        c.add("branches", "a split needs at least two branches", element.id)
    for i, branch in enumerate(element.branches):
        if not 0 <= branch.percent <= 100:
            c.add(f"branches.{i}.percent", "must be between 0 and 100", element.id)
    total = sum(branch.percent for branch in element.branches)
    if element.branches and total != 100:
        c.add("branches", f"the percentages add up to {total}; they must add up to 100", element.id)


@checks(UpdateProfile)
def _update_profile(c: Checker, element: UpdateProfile) -> None:
    e = element.id
    if not element.set and not element.add_tags and not element.remove_tags:
        c.add("set", "choose what to change: attributes or tags", e)
    scope = c.scope()
    for name, source in element.set.items():
        kind = c.ctx.attributes.get(name)
        if kind is None:
            c.add(f"set.{name}", f"there is no person attribute {name!r}", e)
        c.expression(
            source, f"set.{name}", e, scope=scope, expect=kind, required="enter the new value"
        )
    for field, tags in (("addTags", element.add_tags), ("removeTags", element.remove_tags)):
        for i, tag in enumerate(tags):
            c.require(tag, f"{field}.{i}", "enter a tag name", e)


@checks(UpdateVariable)
def _update_variable(c: Checker, element: UpdateVariable) -> None:
    if not element.set:
        c.add("set", "choose a variable to update", element.id)
    c.assign(element.set, "set", element.id, scope=c.scope())


@checks(CallApi)
def _call_api(c: Checker, element: CallApi) -> None:
    e = element.id
    if c.require(element.url, "url", "enter the URL to call", e):
        assert element.url is not None
        c.template(element.url, "url", e)
        literal = "{{" not in element.url and "{%" not in element.url
        if literal and not element.url.lower().startswith(("http://", "https://")):
            c.add("url", "must start with http:// or https://", e)
    for name, value in element.headers.items():
        if not _HEADER.match(name):
            c.add(f"headers.{name}", "is not a valid header name", e)
        c.template(value, f"headers.{name}", e)
    c.template(element.body, "body", e)
    c.duration(element.timeout, "timeout", e, at_most=MAX_API_TIMEOUT)
    if not 0 <= element.retries <= MAX_RETRIES:
        c.add("retries", f"must be between 0 and {MAX_RETRIES}", e)
    c.assign(element.assign, "assign", e, scope=c.scope(response=True))


@checks(AddToFlow)
def _add_to_flow(c: Checker, element: AddToFlow) -> None:
    e = element.id
    if element.flow is None:
        c.add("flow", "choose the flow to add people to", e)
    elif element.flow == c.ctx.flow_id:
        c.add("flow", "a flow cannot add people to itself: they are in it already", e)
    elif element.flow not in c.ctx.flows:
        c.add("flow", f"there is no flow {element.flow}", e)
    elif not c.ctx.flows[element.flow]:
        c.add("flow", f"flow {element.flow} cannot take people now (it has ended)", e)
    scope = c.scope()
    for name, source in element.variables.items():
        c.expression(source, f"variables.{name}", e, scope=scope, required="enter a value")


@checks(CatalogLookup)
def _catalog_lookup(c: Checker, element: CatalogLookup) -> None:
    e = element.id
    columns = None
    if c.require(element.catalog, "catalog", "choose a catalog", e):
        assert element.catalog is not None
        columns = c.ctx.catalogs.get(element.catalog)
        if columns is None:
            c.add("catalog", f"there is no catalog {element.catalog!r}", e)
    c.expression(element.key, "key", e, scope=c.scope(), required="enter the key to look up")
    scope = c.scope(item=with_key(columns)) if columns is not None else None
    c.assign(element.assign, "assign", e, scope=scope)


@checks(EvaluateInbound)
def _evaluate_inbound(c: Checker, element: EvaluateInbound) -> None:
    e = element.id
    branch_names(c, element.branches, e, otherwise=True)
    for i, branch in enumerate(element.branches):
        if (branch.keyword is None) == (branch.regex is None):
            c.add(f"branches.{i}.keyword", "enter either a keyword or a regex", e)
        elif branch.keyword is not None:
            c.require(branch.keyword, f"branches.{i}.keyword", "enter the keyword", e)
        elif branch.regex is not None:
            try:
                re.compile(branch.regex)
            except re.error as exc:
                c.add(f"branches.{i}.regex", f"is not a valid regular expression: {exc}", e)
    for key, name in (("text", element.assign.text), ("sender", element.assign.sender)):
        if name is not None:
            kind = c.variable(name, f"assign.{key}", e)
            if kind not in (None, ValueType.text):
                c.add(f"assign.{key}", f"{name!r} must be a text variable", e)


@checks(Exit)
def _exit(c: Checker, element: Exit) -> None:
    if element.next is not None:
        c.add("next", "the person leaves the flow here: an exit leads nowhere", element.id)
