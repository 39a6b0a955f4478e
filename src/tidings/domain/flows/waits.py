"""Elements that wait: for a time, or for an event."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_ID,
    MAX_MAP,
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
