"""What the store knows that validation needs, handed in by the caller (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.people import STANDARD_TYPES
from tidings.domain.values import ValueType

EventTypes = Mapping[str, Mapping[str, ValueType]]


def _frozen(value: Mapping[str, ValueType]) -> Mapping[str, ValueType]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class ValidationContext:
    """The account's names and types a flow document may refer to.

    Standard events (`message.*`) are always known, and `attributes` defaults to the
    standard person attributes; the caller adds the account's custom ones.
    """

    events: EventTypes = field(default_factory=dict)
    """Event name -> property name -> type (custom events; standard ones are added)."""
    attributes: Mapping[str, ValueType] = field(default_factory=lambda: _frozen(STANDARD_TYPES))
    """Person attribute name -> type: standard and custom."""
    segments: Mapping[int, str] = field(default_factory=dict)
    """Segment id -> name."""
    tags: frozenset[str] = frozenset()
    """Tag names that exist."""
    catalogs: Mapping[str, Mapping[str, ValueType]] = field(default_factory=dict)
    """Catalog name -> column name -> type."""
    flows: Mapping[int, bool] = field(default_factory=dict)
    """Flow id -> whether it can take people now (exists and is launchable: not finished,
    canceled or failed). Flows absent here do not exist."""
    taken_inbound: frozenset[tuple[str, str, str | None]] = frozenset()
    """(channel, number, keyword or None for the whole number) used by other active flows."""
    flow_id: int | None = None
    """This flow's own id when it is stored already; None for a document not yet saved."""
    connections: Mapping[int, frozenset[str]] | None = None
    """Connection id -> the channels it carries; None: connections are not checked."""
    sftp_connections: Mapping[int, str] | None = None
    """SFTP connection id -> name; None: an sftp entry's connection is not checked."""

    def knows_sftp_connection(self, ref: str) -> bool:
        known = self.sftp_connections
        if known is None:
            return True
        return ref in known.values() or (ref.isdigit() and len(ref) < 19 and int(ref) in known)

    def event_types(self, name: str) -> Mapping[str, ValueType] | None:
        """The property types of event `name`, standard events included; None if unknown."""
        found = self.events.get(name)
        if found is not None:
            return found
        return STANDARD_EVENTS.get(name)

    def knows_event(self, name: str) -> bool:
        return self.event_types(name) is not None

    def knows_segment(self, ref: int | str) -> bool:
        if isinstance(ref, int):
            return ref in self.segments
        return ref in self.segments.values()
