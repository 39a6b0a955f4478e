"""Elements that choose the way on: `segment` (by condition), `split` (by chance, stable
per person), `evaluate_inbound` (not available yet) and `exit`.

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
from typing import NamedTuple

from tidings.domain.expressions import Expression
from tidings.domain.flows.branches import EvaluateInbound, Exit, Segment, Split
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds
from tidings.domain.journey.run import Go, Leave, Move, Run

NOT_YET = "not available yet"


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


@builds(EvaluateInbound)
class InboundHandler(Handler):
    """Branching on inbound messages comes in a later issue: everyone takes `otherwise`."""

    def __init__(self, element: EvaluateInbound, compiler: Compiler) -> None:
        super().__init__(element)

    def enter(self, run: Run) -> Move:
        run.trace(self.id, NOT_YET, "evaluate_inbound: otherwise")
        return Go("otherwise")


@builds(Exit)
class ExitHandler(Handler):
    """The person leaves the flow."""

    def __init__(self, element: Exit, compiler: Compiler) -> None:
        super().__init__(element)

    def enter(self, run: Run) -> Move:
        return Leave("completed")

    def uniform(self, moment: str) -> bool:
        return moment == "enter"
