"""A flow's performance report: flow, element and channel figures, over all versions or
one, and the flow figures over time (`store/performance.py` reads the counters and the
hourly roll-up; see its doc for what each figure means)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import Connection

from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.journey.clock import first_zone
from tidings.store import flows
from tidings.store.accounts import read_account
from tidings.store.performance import performance, series

# How far a series reaches by default, and at most (points).
DEFAULT_SPAN = {"hour": timedelta(hours=48), "day": timedelta(days=30)}
MOST_POINTS = {"hour": 24 * 100, "day": 731}


@dataclass(frozen=True)
class SeriesRange:
    """A series as asked: its step, and its bounds as given (`from`, `to`: an instant
    with its offset, or a date, the day's start in the flow's zone; absent: the default
    span up to `now`)."""

    by: Literal["hour", "day"]
    start: str | None
    end: str | None
    now: datetime


def _instant(text: str, zone: tzinfo, field: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            [Problem(field, f"{text!r} is neither a date (2026-11-01) nor an instant")]
        ) from None
    if moment.tzinfo is None:  # a wall-clock time: the flow's
        moment = moment.replace(tzinfo=zone)
    return moment


def bounds(over: SeriesRange, zone: tzinfo) -> tuple[datetime, datetime]:
    """The series' start and end (aware): InvalidInput naming `from` or `to`."""
    end = _instant(over.end, zone, "to") if over.end else over.now
    start = _instant(over.start, zone, "from") if over.start else end - DEFAULT_SPAN[over.by]
    if start >= end:
        raise InvalidInput([Problem("from", "must come before `to`")])
    step = timedelta(hours=1) if over.by == "hour" else timedelta(days=1)
    if (end - start) / step > MOST_POINTS[over.by]:
        most = MOST_POINTS[over.by]
        raise InvalidInput([Problem("from", f"a series by {over.by} has at most {most} points")])
    return start, end


def flow_performance(
    conn: Connection,
    account_id: int,
    flow_id: int,
    version: int | None,
    over: SeriesRange | None = None,
) -> dict[str, Any]:
    """The report of the flow's `version` (None: all), with `series` when `over` says
    which: NotFound for a flow or a version the account does not have."""
    flows.read_flow(conn, account_id, flow_id)
    chosen = None if version is None else flows.read_version(conn, account_id, flow_id, version)
    answer = performance(conn, account_id, flow_id, version)
    if over is not None:
        # the flow's zone: that version's (all versions: the newest's), else the account's
        chosen = chosen or flows.latest_version(conn, account_id, flow_id)
        named = chosen.document.get("timezone") if isinstance(chosen.document, dict) else None
        zone = first_zone(named, read_account(conn, account_id).timezone)
        start, end = bounds(over, zone)
        answer["timezone"] = getattr(zone, "key", str(zone))
        answer["series"] = series(
            conn, account_id, flow_id, version, by=over.by, start=start, end=end, zone=zone
        )
    return answer
