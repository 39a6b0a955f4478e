"""Who may enter a flow, and when: the entry condition and the frequency cap.

Pure: the engine hands in the person's past participations of this flow and the
instant; the answer is None (enter) or the reason for refusing, which is counted
(`refusedEntries` by reason) and traced, never silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tidings.domain.durations import parse_duration
from tidings.domain.expressions import EvalContext, Expression, Scope, compile_expression
from tidings.domain.flows import FlowDocument
from tidings.domain.flows.entry import EventEntry, InboundEntry
from tidings.domain.values import ValueType


@dataclass(frozen=True)
class Past:
    """One earlier participation of the same person in the same flow (any version)."""

    entered_at: datetime
    exited_at: datetime | None  # None: still inside


@dataclass(frozen=True)
class EntryRules:
    event: str | None  # the event that starts the flow, for event entries
    where: Expression | None
    assign: Mapping[str, Expression]
    reentry: bool
    delay: timedelta
    limits: tuple[tuple[int, timedelta], ...]
    broken: bool = False  # a condition that no longer compiles admits nobody

    @classmethod
    def of(
        cls,
        doc: FlowDocument,
        *,
        event_types: Mapping[str, ValueType] | None = None,
        attributes: Mapping[str, ValueType] | None = None,
    ) -> EntryRules:
        entry = doc.entry
        variables = {v.name: v.type for v in doc.variables}
        scope = Scope(
            variables=variables,
            person=attributes or {},
            event=dict(event_types) if event_types is not None else None,
        )
        where: Expression | None = None
        assign: dict[str, Expression] = {}
        event: str | None = None
        broken = False
        if isinstance(entry, EventEntry | InboundEntry):
            if isinstance(entry, EventEntry):
                event = entry.event
                if entry.where and entry.where.strip():
                    where = _compile(entry.where, scope, ValueType.boolean)
                    broken = where is None
            for name, source in (entry.assign or {}).items():
                compiled = _compile(source, scope, None)
                if compiled is not None:
                    assign[name] = compiled
        cap = doc.settings.reentry
        return cls(
            event=event,
            where=where,
            assign=assign,
            reentry=cap.enabled,
            delay=parse_duration(cap.delay) if cap.delay else timedelta(0),
            limits=tuple((limit.max, parse_duration(limit.per)) for limit in cap.limits),
            broken=broken,
        )

    def admits(
        self,
        properties: Mapping[str, Any],
        person: Mapping[str, Any],
        now: datetime,
        timezone: str = "UTC",
    ) -> bool:
        """Whether the entry event passes `where` (no condition: it does)."""
        if self.broken:
            return False
        if self.where is None:
            return True
        return (
            self.where.evaluate(
                EvalContext(
                    variables={}, person=person, event=properties, now=now, timezone=timezone
                )
            )
            is True
        )

    def assigned(
        self,
        properties: Mapping[str, Any],
        person: Mapping[str, Any],
        now: datetime,
        timezone: str = "UTC",
    ) -> dict[str, Any]:
        ctx = EvalContext(variables={}, person=person, event=properties, now=now, timezone=timezone)
        return {name: expression.evaluate(ctx) for name, expression in self.assign.items()}

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


def _compile(source: str, scope: Scope, expect: ValueType | None) -> Expression | None:
    """Launched flows were validated, so this compiles; a flow never crashes on it anyway."""
    try:
        return compile_expression(source, scope, expect=expect)
    except ValueError:
        return None
