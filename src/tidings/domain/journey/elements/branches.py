"""Elements that choose the way on: `segment` (by condition), `split` (by chance, stable
per person), `evaluate_inbound` (not available yet) and `exit`.

A split is random across people but stable for each one: the branch comes from a hash of
(flow, person, element), never from a random source, so a person who enters again, or a
replay of the same history, takes the same branch; two flows with a split of the same id
do not put the same people on the same side.
"""

from __future__ import annotations

import hashlib

from tidings.domain.flows.actions import EvaluateInbound
from tidings.domain.flows.control import Exit, Segment, Split
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds
from tidings.domain.journey.run import Go, Leave, Move, Run

NOT_YET = "not available yet"


@builds(Segment)
class SegmentHandler(Handler):
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

    def enter(self, run: Run) -> Move:
        ctx = run.context()
        for name, when in self.branches:
            if when is not None and when.evaluate(ctx):
                run.trace(self.id, "branch", f"segment {name!r} matched: {when.source}")
                return Go(name)
        run.trace(self.id, "branch", "no branch matched: otherwise")
        return Go("otherwise")


def bucket(flow_id: int, person_id: int, element_id: str, size: int) -> int:
    """A number in [0, size) that is uniform across people and fixed for each."""
    key = f"{flow_id}:{person_id}:{element_id}".encode()
    digest = hashlib.blake2b(key, digest_size=8, person=b"tidings-split").digest()
    return int.from_bytes(digest, "big") % size


@builds(Split)
class SplitHandler(Handler):
    """A branch by chance, with the branches' percentages as weights."""

    def __init__(self, element: Split, compiler: Compiler) -> None:
        super().__init__(element)
        self.branches = tuple((b.name, max(0, b.percent)) for b in element.branches)
        self.total = sum(share for _, share in self.branches)

    def enter(self, run: Run) -> Move:
        if self.total <= 0:
            run.trace(self.id, "branch", "no branch has a share")
            return Go(None)
        drawn = bucket(run.program.flow_id, run.person.id, self.id, self.total)
        below = 0
        for name, share in self.branches:
            below += share
            if drawn < below:
                run.trace(self.id, "branch", f"split {name!r}: bucket {drawn} of {self.total}")
                return Go(name)
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
