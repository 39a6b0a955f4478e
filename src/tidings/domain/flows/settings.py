"""Flow settings (re-entry, schedule, send window, goal) and the flow's variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tidings.domain.flows.base import MAX_MAP, VARIABLE_PATTERN, Duration, Expression, Model
from tidings.domain.values import ValueType

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class EntryLimit(Model):
    """At most `max` entries of one person in any window of length `per` (rolling)."""

    max: int = Field(description="How many entries the window allows (at least 1).")
    per: Duration = Field(description="The rolling window, e.g. P7D.")


class Reentry(Model):
    """Frequency cap: whether and how often one person may enter the flow again."""

    enabled: bool = Field(
        default=True, description="Whether a person may enter again after they exit."
    )
    delay: Duration | None = Field(
        default=None, description="How long after exiting before a person may enter again."
    )
    limits: list[EntryLimit] = Field(
        default_factory=list, max_length=10, description="Entry limitations, all applied."
    )


class Schedule(Model):
    """When the flow starts taking people and when it stops. Both null: now, and no end.

    Shared by all versions of the flow; the end stops new entries while the people inside
    finish. Without an end the flow runs for a year after the last element fired."""

    start: str | None = Field(
        default=None,
        max_length=64,
        description="ISO 8601 instant with offset, or a wall time such as 2026-03-01T09:00 "
        "in the flow's time zone; null starts at launch.",
    )
    end: str | None = Field(
        default=None,
        max_length=64,
        description="ISO 8601 instant with offset, or a wall time in the flow's time zone; "
        "null runs until a year passes in which no element fires.",
    )


class SendWindow(Model):
    """Messages go out only on these days between these times; others wait or drop."""

    days: list[Day] = Field(
        default_factory=lambda: list(DAYS),
        max_length=7,
        description="Days on which messages may go out.",
    )
    from_: str = Field(
        default="00:00", alias="from", description="Start of the window, HH:MM (24 h)."
    )
    to: str = Field(
        default="24:00",
        description="End of the window, HH:MM; 24:00 is midnight; earlier than from wraps.",
    )
    timezone: str = Field(
        default="recipient",
        max_length=64,
        description='"recipient" (the person\'s zone, else the flow\'s), "flow" (the '
        "flow's) or an IANA zone.",
    )
    outside: Literal["wait", "drop"] = Field(
        default="wait",
        description="A message due outside the window waits at its element for the next "
        "opening (wait) or is not sent, the person going on (drop).",
    )


class Goal(Model):
    """The event that counts as success; `value` summed over goal performers."""

    event: str | None = Field(default=None, max_length=128, description="The goal event.")
    where: Expression | None = Field(
        default=None, description="A condition on the goal event (event.x)."
    )
    value: Expression | None = Field(
        default=None, description="A number to sum over goal performers, e.g. event.amount."
    )


class Settings(Model):
    """Flow settings."""

    reentry: Reentry = Field(default_factory=Reentry, description="Frequency cap.")
    schedule: Schedule = Field(default_factory=Schedule, description="Start and end.")
    send_window: SendWindow | None = Field(
        default=None, description="When messages may go out; absent means any time."
    )
    goal: Goal | None = Field(default=None, description="The flow's goal.")


class Variable(Model):
    """A flow variable: session data of one person's journey."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=VARIABLE_PATTERN,
        description="The name used bare in expressions and {{ name }} in templates.",
    )
    type: ValueType = Field(
        strict=False,  # the enum from its JSON text
        description="boolean, text, decimal, integer, date, datetime, list.",
    )
    default: Expression | None = Field(
        default=None,
        description="An expression for the starting value; list variables take none.",
    )


MAX_VARIABLES = MAX_MAP
