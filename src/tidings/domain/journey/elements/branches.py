"""Elements that choose the way on: `segment` (by condition), `split` (by chance, stable
per person), `evaluate_inbound` (by the inbound message that brought the person in) and
`exit`.

`segment` and `split` are deciders: what they do is a pure choice for the person
(`Decider.choose`, reading nothing but the run's context) followed by the same move for
everyone who made that choice (`Decider.follow`: a trace line and the outcome). The
set-based entries (`journey/uniform.py`) choose for each person with the same code and
prove each choice's path once.

A split is random across people but stable for each one: the branch comes from a hash of
(flow, person, element), never from a random source, so a person who enters again, or a
replay of the same history, takes the same branch; two flows with a split of the same id
do not put the same people on the same side.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, NamedTuple

import re2

from tidings.domain.expressions import Expression
from tidings.domain.flows.branches import EvaluateInbound, Exit, Segment, Split
from tidings.domain.inbound import compile_pattern, keyword_of, searched
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds
from tidings.domain.journey.run import Go, Leave, Move, Run


class Choice(NamedTuple):
    """What a decider chose: the outcome (None: the open end) and the trace line's why."""

    outcome: str | None
    why: str


class Decider(Handler):
    """An element that only chooses the way on: the choice reads the person (`choose`),
    the move that follows it does not (`follow`)."""

    @abstractmethod
    def choose(self, run: Run) -> Choice:
        """This person's choice here; pure, and it emits nothing."""

    def conditions(self) -> tuple[Expression, ...]:
        """The expressions `choose` evaluates (what it may read of the person)."""
        return ()

    def follow(self, run: Run, choice: Choice) -> Move:
        """What the element does once `choice` is made: the same for everyone."""
        run.trace(self.id, "branch", choice.why)
        return Go(choice.outcome)

    def enter(self, run: Run) -> Move:
        return self.follow(run, self.choose(run))


@builds(Segment)
class SegmentHandler(Decider):
    """The first branch whose `when` holds, else `otherwise`."""

    def __init__(self, element: Segment, compiler: Compiler) -> None:
        super().__init__(element)
        scope = compiler.scope()
        self.branches = tuple(
            (
                branch.name,
                compiler.condition(branch.when, f"{element.id}.branches.{i}.when", scope=scope),
            )
            for i, branch in enumerate(element.branches)
        )

    def conditions(self) -> tuple[Expression, ...]:
        return tuple(when for _, when in self.branches if when is not None)

    def choose(self, run: Run) -> Choice:
        ctx = run.context()
        for name, when in self.branches:
            if when is not None and when.evaluate(ctx):
                return Choice(name, f"segment {name!r} matched: {when.source}")
        return Choice("otherwise", "no branch matched: otherwise")


def bucket(flow_id: int, person_id: int, element_id: str, size: int) -> int:
    """A number in [0, size) that is uniform across people and fixed for each."""
    key = f"{flow_id}:{person_id}:{element_id}".encode()
    digest = hashlib.blake2b(key, digest_size=8, person=b"tidings-split").digest()
    return int.from_bytes(digest, "big") % size


@builds(Split)
class SplitHandler(Decider):
    """A branch by chance, with the branches' percentages as weights."""

    def __init__(self, element: Split, compiler: Compiler) -> None:
        super().__init__(element)
        self.branches = tuple((b.name, max(0, b.percent)) for b in element.branches)
        self.total = sum(share for _, share in self.branches)

    def choose(self, run: Run) -> Choice:
        if self.total <= 0:
            return Choice(None, "no branch has a share")
        drawn = bucket(run.program.flow_id, run.person.id, self.id, self.total)
        below = 0
        for name, share in self.branches:
            below += share
            if drawn < below:
                return Choice(name, f"split {name!r}: bucket {drawn} of {self.total}")
        raise AssertionError("unreachable: the buckets cover the total")  # pragma: no cover


class InboundBranch(NamedTuple):
    """One compiled branch of an `evaluate_inbound`: a keyword (case-folded) or a
    pattern; neither (a pattern refused, which validation would have refused) never
    matches."""

    name: str
    keyword: str | None
    pattern: re2._Regexp[str] | None


@builds(EvaluateInbound)
class InboundHandler(Handler):
    """Branch on the inbound message that brought the person in (the entry event,
    `message.received`): the first branch whose keyword is the message's first word (any
    case) or whose regular expression `re.search`es its text (the first
    `inbound.MAX_TEXT` characters) wins, else `otherwise`; `assign` keeps the text and the
    sender in flow variables. Per person: it reads their message (never `uniform`)."""

    def __init__(self, element: EvaluateInbound, compiler: Compiler) -> None:
        super().__init__(element)
        branches = []
        for i, branch in enumerate(element.branches):
            keyword = branch.keyword.strip().casefold() if branch.keyword else None
            pattern = None
            if not keyword and branch.regex is not None:
                compiled = compile_pattern(branch.regex)
                if isinstance(compiled, str):
                    compiler.problems.append(f"{element.id}.branches.{i}.regex: {compiled}")
                else:
                    pattern = compiled
            branches.append(InboundBranch(branch.name, keyword or None, pattern))
        self.branches = tuple(branches)
        self.text = element.assign.text
        self.sender = element.assign.sender

    def enter(self, run: Run) -> Move:
        message = run.entry_event
        text = message.get("text") if message is not None else None
        if message is None or not isinstance(text, str):
            run.trace(self.id, "branch", "no inbound message brought the person in: otherwise")
            return Go("otherwise")
        choice = self.choose(message, text)
        run.trace(self.id, "branch", choice.why)
        sender = message.get("from")
        if self.text is not None:
            run.set_variable(self.text, text, self.id)
        if self.sender is not None and isinstance(sender, str):
            run.set_variable(self.sender, sender, self.id)
        return Go(choice.outcome)

    def choose(self, message: Mapping[str, Any], text: str) -> Choice:
        """The branch the message takes, and why."""
        keyword = keyword_of(message)
        searched_text = searched(text)
        for branch in self.branches:
            if branch.keyword is not None:
                if keyword == branch.keyword:
                    why = f"{branch.name!r} matched: keyword {branch.keyword.upper()!r}"
                    return Choice(branch.name, why)
            elif branch.pattern is not None:
                found = branch.pattern.search(searched_text)
                if found is not None:
                    pattern, excerpt = branch.pattern.pattern, _excerpt(found.group(0))
                    why = f"{branch.name!r} matched: regex {pattern!r} found {excerpt}"
                    return Choice(branch.name, why)
        return Choice("otherwise", f"no branch matched {_excerpt(text)}: otherwise")


def _excerpt(text: str, most: int = 40) -> str:
    """A text for a trace line: quoted, cut after `most` characters."""
    return repr(text if len(text) <= most else text[:most] + "…")


@builds(Exit)
class ExitHandler(Handler):
    """The person leaves the flow."""

    def __init__(self, element: Exit, compiler: Compiler) -> None:
        super().__init__(element)

    def enter(self, run: Run) -> Move:
        return Leave("completed")

    def uniform(self, moment: str) -> bool:
        return moment == "enter"
