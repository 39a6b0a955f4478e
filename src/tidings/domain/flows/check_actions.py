"""Checks of the elements that act on data."""

from __future__ import annotations

import re
from datetime import timedelta

from tidings.domain.catalogs import with_key
from tidings.domain.flows.actions import (
    AddToFlow,
    CallApi,
    CatalogLookup,
    Notify,
    UpdateProfile,
    UpdateVariable,
)
from tidings.domain.flows.check_messages import SENDER, TEXT
from tidings.domain.flows.checker import Checker, checks
from tidings.domain.values import ValueType

_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_API_TIMEOUT = timedelta(seconds=60)
MAX_RETRIES = 5


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


@checks(Notify)
def _notify(c: Checker, element: Notify) -> None:
    e = element.id
    c.require(element.channel, "channel", "choose sms or email", e)
    c.expression(
        element.to,
        "to",
        e,
        scope=c.scope(),
        expect=ValueType.text,
        required="enter who to notify",
    )
    c.require(element.from_, "from", SENDER, e)
    if element.channel == "sms":
        c.require(element.text, "text", TEXT, e)
    elif element.channel == "email":
        c.require(element.subject, "subject", "enter a subject", e)
        c.require(element.html, "html", "enter the email content", e)
    for name, value in (("text", element.text), ("subject", element.subject)):
        c.template(value, name, e)
    c.template(element.html, "html", e)
