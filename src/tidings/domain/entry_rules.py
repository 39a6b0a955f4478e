"""Who may enter a flow again, and when: the frequency cap.

Pure: the engine hands in the person's past participations of this flow and the
instant; the answer is None (enter) or the reason for refusing, which is counted
(`refusedEntries` by reason) and traced, never silently lost. The entry's `where` and
`assign` belong to the compiled program (`domain.journey.admits`, `Entered`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tidings.domain.durations import parse_duration
from tidings.domain.flows import FlowDocument
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.inbound import EVENT as INBOUND_EVENT


@dataclass(frozen=True)
class Past:
    """One earlier participation of the same person in the same flow (any version)."""

    entered_at: datetime
    exited_at: datetime | None  # None: still inside
    version: int = 0  # which version it was in (0: not known)


@dataclass(frozen=True)
class EntryRules:
    event: str | None  # the event that starts the flow: event and inbound entries
    reentry: bool
    delay: timedelta
    limits: tuple[tuple[int, timedelta], ...]

    @classmethod
    def of(cls, doc: FlowDocument) -> EntryRules:
        cap = doc.settings.reentry
        entry = doc.entry
        event = None
        if isinstance(entry, EventEntry):
            event = entry.event
        elif isinstance(entry, InboundEntry):
            event = INBOUND_EVENT  # which messages it takes: `admits`
        return cls(
            event=event,
            reentry=cap.enabled,
            delay=parse_duration(cap.delay) if cap.delay else timedelta(0),
            limits=tuple((limit.max, parse_duration(limit.per)) for limit in cap.limits),
        )

    def refusal(self, past: Sequence[Past], now: datetime) -> str | None:
        """None when the person may enter now, else why not (the counted reason)."""
        if any(p.exited_at is None for p in past):
            return "alreadyInFlow"
        if past and not self.reentry:
            return "reentryDisabled"
        if past and self.delay:
            last_exit = max(p.exited_at for p in past if p.exited_at is not None)
            if now < last_exit + self.delay:
                return "reentryDelay"
        for most, per in self.limits:
            if sum(1 for p in past if p.entered_at > now - per) >= most:
                return "entryLimit"
        return None
