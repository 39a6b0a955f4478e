"""Checks of the elements that branch, and of the exit."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.domain.flows.base import Branch
from tidings.domain.flows.branches import EvaluateInbound, Exit, Segment, Split
from tidings.domain.flows.checker import Checker, checks
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.inbound import EVENT as INBOUND_EVENT
from tidings.domain.inbound import pattern_problem
from tidings.domain.values import ValueType


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


@checks(EvaluateInbound)
def _evaluate_inbound(c: Checker, element: EvaluateInbound) -> None:
    e = element.id
    entry = c.doc.entry
    if not isinstance(entry, InboundEntry) and not (
        isinstance(entry, EventEntry) and entry.event == INBOUND_EVENT
    ):
        c.add(
            "",
            "evaluate_inbound reads the inbound message that brought the person in: the "
            f"flow must start with an inbound entry (or an event entry on {INBOUND_EVENT})",
            e,
        )
    branch_names(c, element.branches, e, otherwise=True)
    for i, branch in enumerate(element.branches):
        if (branch.keyword is None) == (branch.regex is None):
            c.add(f"branches.{i}.keyword", "enter either a keyword or a regex", e)
        elif branch.keyword is not None:
            field = f"branches.{i}.keyword"
            if c.require(branch.keyword, field, "enter the keyword", e) and (
                len(branch.keyword.split()) > 1
            ):
                c.add(field, "a keyword is one word", e)
        elif branch.regex is not None:
            problem = pattern_problem(branch.regex)
            if problem is not None:
                c.add(f"branches.{i}.regex", problem, e)
    for key, name in (("text", element.assign.text), ("sender", element.assign.sender)):
        if name is not None:
            kind = c.variable(name, f"assign.{key}", e)
            if kind not in (None, ValueType.text):
                c.add(f"assign.{key}", f"{name!r} must be a text variable", e)


@checks(Exit)
def _exit(c: Checker, element: Exit) -> None:
    if element.next is not None:
        c.add("next", "the person leaves the flow here: an exit leads nowhere", element.id)
