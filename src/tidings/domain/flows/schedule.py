"""A flow's schedule as instants: `start` and `end` in the flow's time zone.

    start, end = schedule_instants(doc, account_zone="Europe/Zagreb")

Each is an ISO 8601 text. With an offset (`2026-03-01T09:00:00+01:00`, `...Z`) it is that
instant. Without one (`2026-03-01T09:00`, or a date alone for its midnight) it is a wall
time in the flow's `timezone`, else the account's, the way the guide's scheduling tab
sets "the time, date, and time zone". On the days clocks change a wall time the clocks
skip moves on by the gap (02:30 becomes 03:30) and one they show twice means the first,
as `dateAdd` and `wait` `at` do.

The schedule belongs to the flow, not to one version: the last launched version's (or
an in-place edit's) start and end apply to every version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tidings.domain.durations import EARLIEST, LATEST, parse_instant
from tidings.domain.flows.document import FlowDocument


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def schedule_instant(text: str, zone: str) -> datetime:
    """The instant `text` names (see the module docstring); a wall time is read in
    `zone` (an IANA name; UTC when it is not one). ValueError saying why otherwise."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not an ISO 8601 instant such as 2026-03-01T09:00:00+01:00 "
            "(or a wall time such as 2026-03-01T09:00 in the flow's time zone)"
        ) from exc
    if value.tzinfo is not None:
        return parse_instant(text)
    where = _zone(zone) or UTC
    try:
        instant = value.replace(tzinfo=where).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(f"{text!r} is out of range (1900 to 9000)")
    return instant


def schedule_zone(doc: FlowDocument, account_zone: str) -> str:
    """The zone wall times of the schedule are read in: the flow's, else the account's."""
    if doc.timezone and _zone(doc.timezone) is not None:
        return doc.timezone
    return account_zone


def schedule_instants(
    doc: FlowDocument, account_zone: str
) -> tuple[datetime | None, datetime | None]:
    """The document's start and end as UTC instants; None where it has none. Raises
    ValueError for a text that is not an instant (validation refuses it first)."""
    schedule = doc.settings.schedule
    where = schedule_zone(doc, account_zone)
    start = schedule_instant(schedule.start, where) if schedule.start else None
    end = schedule_instant(schedule.end, where) if schedule.end else None
    return start, end


__all__ = ["schedule_instant", "schedule_instants", "schedule_zone"]
