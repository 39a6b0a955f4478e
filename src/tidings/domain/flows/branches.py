"""Elements that branch: by condition, by chance, by an inbound message's text, and the exit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_BRANCHES,
    Branch,
    ElementBase,
    Expression,
    Model,
    VariableName,
)


class SegmentBranch(Branch):
    when: Expression | None = Field(
        default=None, description="The condition that sends a person down this branch."
    )


class Segment(ElementBase):
    """Send each person down the first branch whose condition holds, else `otherwise`."""

    type: Literal["segment"] = Field(description="Branch by condition.")
    branches: list[SegmentBranch] = Field(
        default_factory=list,
        max_length=MAX_BRANCHES,
        description="Branches in order; first match wins.",
    )

    def outcomes(self) -> tuple[str, ...]:
        return (*(b.name for b in self.branches), "otherwise")


class SplitBranch(Branch):
    percent: int = Field(description="The share of people, in whole percent.")


class Split(ElementBase):
    """Split people at random (stable per person) by percentages summing to 100."""

    type: Literal["split"] = Field(description="Split by chance (A/B).")
    branches: list[SplitBranch] = Field(
        default_factory=list, max_length=MAX_BRANCHES, description="The branches and shares."
    )

    def outcomes(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.branches)


class InboundBranch(Branch):
    keyword: str | None = Field(
        default=None, max_length=64, description="The message starts with this word."
    )
    regex: str | None = Field(
        default=None, max_length=512, description="The message matches this regular expression."
    )


class InboundAssign(Model):
    text: VariableName | None = Field(default=None, description="Variable for the text.")
    sender: VariableName | None = Field(default=None, description="Variable for the sender.")


class EvaluateInbound(ElementBase):
    """Branch on the text of the inbound message that brought the person here."""

    type: Literal["evaluate_inbound"] = Field(description="Branch on an inbound message.")
    branches: list[InboundBranch] = Field(
        default_factory=list,
        max_length=MAX_BRANCHES,
        description="Branches in order, each a keyword or a regex; first match wins.",
    )
    assign: InboundAssign = Field(
        default_factory=InboundAssign,
        description='Variables for the message: {"text": var, "sender": var}.',
    )

    def outcomes(self) -> tuple[str, ...]:
        return (*(b.name for b in self.branches), "otherwise")


class Exit(ElementBase):
    """The person leaves the flow here. Added automatically to every open branch."""

    type: Literal["exit"] = Field(description="Exit the flow.")
