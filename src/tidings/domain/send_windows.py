"""Send windows: the days and hours at which messages may go out, read on a wall clock.

    window = window_of(["mon", "tue", "wed", "thu", "fri"], "09:00", "20:00")
    is_open(window, ZoneInfo("Europe/Zagreb"), now)        # -> bool
    next_opening(window, ZoneInfo("Europe/Zagreb"), now)   # -> now, or when it opens

A window is a set of weekdays and a span of the day, `from` to `to` (HH:MM on a 24-hour
clock; `to` may be 24:00, the midnight that ends the day). The start is included and the
end excluded. When `to` comes before `from` the span runs overnight and belongs to the
day it starts on: a Friday 22:00-06:00 window stays open until Saturday 06:00 even when
Saturday is not one of its days.

An instant is inside the window when its wall-clock time in the zone is. The days clocks
change follow from that, with no special rule:

- spring forward (02:00 -> 03:00 in Europe): a window that opens at 02:30 opens at 03:00
  that day, the first instant whose wall clock is inside it; a window that lies wholly
  inside the skipped hour does not open that day;
- fall back (03:00 -> 02:00): a wall-clock time that happens twice is inside the window
  both times.

Pure: the instant is an argument, zones are `tzinfo`s (zoneinfo), answers are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from tidings.domain.flows.base import HHMM_RE

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES: Final = 24 * 60
# Every opening comes within a week of any instant, plus a day for an overnight span and
# a day for a clock change that moves the wall clock back over midnight.
_SEARCH_DAYS: Final = 9


@dataclass(frozen=True, slots=True)
class Window:
    """Weekdays (0 = Monday) and a span in minutes of the day: `start` in 0..1439 and
    `end` in 1..1440; `end` < `start` runs overnight."""

    days: frozenset[int]
    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def contains(self, weekday: int, minute: int) -> bool:
        """Whether the wall-clock minute `minute` of a day that is `weekday` is inside."""
        if not self.overnight:
            return weekday in self.days and self.start <= minute < self.end
        if minute >= self.start:
            return weekday in self.days
        return minute < self.end and (weekday - 1) % 7 in self.days

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str, *, end: bool) -> int:
    if end and text == "24:00":
        return DAY_MINUTES
    if not HHMM_RE.match(text):
        raise ValueError(f"{text!r} is not a time of day such as 09:00")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def window_of(days: Iterable[str], start: str, end: str) -> Window:
    """A window from its document form (day names, "HH:MM" texts); ValueError saying what
    is wrong otherwise."""
    numbers: set[int] = set()
    for name in days:
        if name not in DAY_NAMES:
            raise ValueError(f"{name!r} is not a day (mon ... sun)")
        numbers.add(DAY_NAMES.index(name))
    if not numbers:
        raise ValueError("a send window needs at least one day")
    first = _minutes(start, end=False)
    last = _minutes(end, end=True)
    if first == last:
        raise ValueError("a send window must not start and end at the same time")
    return Window(frozenset(numbers), first, last)


def is_open(window: Window, zone: tzinfo, instant: datetime) -> bool:
    """Whether `instant` (aware) is inside `window` on the wall clock of `zone`."""
    local = instant.astimezone(zone)
    return window.contains(local.weekday(), local.hour * 60 + local.minute)


def next_opening(window: Window, zone: tzinfo, now: datetime) -> datetime | None:
    """`now` when the window is open; else the first later instant at which it opens (in
    UTC). None only when it never opens within a week and two days (a window that lies
    wholly inside hours a clock change skips, every week: not a real zone)."""
    if is_open(window, zone, now):
        return now
    first_day = now.astimezone(zone).date()
    best: datetime | None = None
    for offset in range(_SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        if best is not None and _wall_start(day, zone) > best + timedelta(days=1):
            break  # a later day cannot hold an earlier instant
        for candidate in _candidates(window, zone, day):
            earlier = candidate > now and (best is None or candidate < best)
            if earlier and is_open(window, zone, candidate):
                best = candidate
    return best


def _wall_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _candidates(window: Window, zone: tzinfo, day: date) -> Iterator[datetime]:
    """The instants of local `day` at which the window can go from closed to open: its
    start (both readings of a time the clock shows twice, and either side of a skipped
    one) and any clock change, which can jump the wall clock into the window."""
    if day.weekday() in window.days:
        wall = datetime.combine(day, time(window.start // 60, window.start % 60))
        earlier = wall.replace(tzinfo=zone).astimezone(UTC)
        later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        yield earlier
        if later != earlier:
            yield later
    change = _clock_change(zone, day)
    if change is not None:
        yield change


def _clock_change(zone: tzinfo, day: date) -> datetime | None:
    """The instant the zone's offset changes during local `day`, if it does (to the
    second; one change a day at most is looked for)."""
    low = _wall_start(day, zone)
    high = _wall_start(day + timedelta(days=1), zone)
    before = low.astimezone(zone).utcoffset()
    if high.astimezone(zone).utcoffset() == before:
        return None
    lo, hi = 0, int((high - low).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (low + timedelta(seconds=mid)).astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return low + timedelta(seconds=hi)


__all__ = ["DAY_NAMES", "Window", "is_open", "next_opening", "window_of"]


@dataclass(frozen=True, slots=True)
class WindowRule:
    """A flow's send window, compiled (`journey/windows.compile_window`)."""

    window: Window
    zone: tzinfo | None  # a fixed zone (the flow's or one named); None: the recipient's
    drop: bool
