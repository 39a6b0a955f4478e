"""Elements that steer: waits, branches by condition or by chance, and the exit."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_BRANCHES,
    MAX_ID,
    MAX_MAP,
    Branch,
    Duration,
    ElementBase,
    Expression,
    VariableName,
)


class Wait(ElementBase):
    """Hold the person for a time: exactly one of duration, until or at."""

    WAITS: ClassVar[bool] = True

    type: Literal["wait"] = Field(description="Wait.")
    duration: Duration | None = Field(default=None, description="How long, e.g. PT2H.")
    until: Expression | None = Field(
        default=None, description="An expression giving the instant to wait for."
    )
    at: str | None = Field(
        default=None,
        max_length=5,
        description='A time of day "HH:MM": the next such time in the person\'s zone.',
    )


class WaitForEvent(ElementBase):
    """Wait until the person triggers an event, or a send element's message event."""

    OUTCOMES: ClassVar[tuple[str, ...]] = ("event", "timeout")
    WAITS: ClassVar[bool] = True

    type: Literal["wait_for_event"] = Field(description="Wait for an event.")
    event: str | None = Field(
        default=None,
        max_length=128,
        description=(
            "The event to wait for. With `element`, one of message.delivered, "
            "message.failed, message.seen or message.clicked narrows the wait."
        ),
    )
    element: str | None = Field(
        default=None,
        max_length=MAX_ID,
        description="A send element's id: wait for one of its message events.",
    )
    where: Expression | None = Field(
        default=None, description="A condition on the awaited event (event.x)."
    )
    timeout: Duration | None = Field(
        default=None, description="How long to wait before taking the timeout outcome."
    )
    assign: dict[VariableName, Expression] = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Flow variables from the awaited event: {var: event.x}.",
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


class Exit(ElementBase):
    """The person leaves the flow here. Added automatically to every open branch."""

    type: Literal["exit"] = Field(description="Exit the flow.")
