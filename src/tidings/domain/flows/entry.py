"""Entry points: who enters the flow and how. A discriminated union on `type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_LIST,
    MAX_MAP,
    MAX_NAME,
    Duration,
    Expression,
    Model,
    Target,
    VariableName,
)

Assign = dict[VariableName, Expression]
ASSIGN_DESCRIPTION = (
    "Flow variables to set on entry, each from an expression over the event: "
    '{"cartValue": "event.cartValue"}.'
)
ENTRY_NEXT = "The element the entry leads to; the first element of `elements` when absent."
AudienceRef = Annotated[int | str, Field(description="An id or a name.")]


class EntryBase(Model):
    next: Target | None = Field(default=None, description=ENTRY_NEXT)


class AudienceEntry(EntryBase):
    """Predefined audience: people picked by segment, tag, profile or company."""

    type: Literal["audience"] = Field(description="Predefined audience.")
    segments: list[AudienceRef] = Field(
        default_factory=list, max_length=MAX_LIST, description="Segments (ids or names)."
    )
    tags: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="People with any of these tags."
    )
    people: list[AudienceRef] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="People by id or externalId.",
    )
    companies: list[AudienceRef] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Everyone in these companies (ids or names).",
    )
    update: Literal["never", "realtime"] = Field(
        default="never",
        description=(
            "Whether people who join a source after launch enter too (realtime) or only "
            "those present at launch (never: a one-off campaign, which needs no end and "
            "finishes when its last person leaves)."
        ),
    )

    def sources(self) -> int:
        return len(self.segments) + len(self.tags) + len(self.people) + len(self.companies)


def one_off(entry: object) -> bool:
    """A predefined audience that is never updated: everyone enters at launch, it needs
    no end and cannot run for a year; the version finishes when its last person leaves,
    and it gets no new version (DESIGN.md, Flow documents)."""
    return isinstance(entry, AudienceEntry) and entry.update == "never"


class EventEntry(EntryBase):
    """People real-time event: a person enters when they trigger the event."""

    type: Literal["event"] = Field(description="A person's event starts the flow.")
    event: str | None = Field(
        default=None, max_length=128, description="The event name, e.g. CartAbandoned."
    )
    where: Expression | None = Field(
        default=None, description="A condition over event.x that the event must meet."
    )
    assign: Assign = Field(default_factory=dict, max_length=MAX_MAP, description=ASSIGN_DESCRIPTION)


class ApiEntry(EntryBase):
    """Flow API: `POST /flows/{id}/participants` adds a person with flow variables."""

    type: Literal["api"] = Field(description="People are added through the Flow API.")


class InboundEntry(EntryBase):
    """An inbound message to one of our numbers (optionally starting with a keyword), or
    a call to it (`voice`: the flow's voice elements speak to the caller on the call)."""

    type: Literal["inbound"] = Field(description="An inbound message starts the flow.")
    channel: Literal["sms", "whatsapp", "viber", "voice"] | None = Field(
        default=None,
        description=(
            "The channel the message arrives on; voice: a call to the number, answered "
            "in IVR (its voice_call elements speak to the caller and collect digits)."
        ),
    )
    number: str | None = Field(
        default=None, max_length=64, description="Our number or sender the message is sent to."
    )
    keyword: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "The first word the message must start with (any case); absent: any message "
            "to the number, which then takes the whole number. A call has no keyword."
        ),
    )
    assign: Assign = Field(
        default_factory=dict,
        max_length=MAX_MAP,
        description="Flow variables from the message: event.text, event.from, event.to.",
    )


class SftpEntry(EntryBase):
    """SFTP import: people in each new file on a connection enter the flow."""

    type: Literal["sftp"] = Field(description="Rows of files fetched over SFTP.")
    connection: str | None = Field(
        default=None, max_length=MAX_NAME, description="The name of the SFTP connection."
    )
    path: str | None = Field(
        default=None, max_length=1024, description="The folder or file pattern to fetch."
    )
    every: Duration | None = Field(
        default=None, description="How long between two polls, e.g. PT1H (at least PT5M)."
    )


Entry = Annotated[
    AudienceEntry | EventEntry | ApiEntry | InboundEntry | SftpEntry,
    Field(discriminator="type", description="How people enter the flow."),
]
