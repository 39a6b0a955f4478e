"""Clocks: the real one, and a virtual one that moves only when told to.

The domain never reads a clock; the shell reads one of these and passes the instant in.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

VIRTUAL_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, as DESIGN.md fixes


class Clock(Protocol):
    virtual: bool

    def now(self) -> datetime: ...


class RealClock:
    virtual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """Starts at a fixed instant and moves forward only through `advance_to`."""

    virtual = True

    def __init__(self, start: datetime = VIRTUAL_EPOCH) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance_to(self, instant: datetime) -> datetime:
        with self._lock:
            if instant < self._now:
                raise ValueError("the virtual clock never moves backwards")
            self._now = instant.astimezone(UTC)
            return self._now

    def advance_by(self, delta: timedelta) -> datetime:
        with self._lock:
            if delta < timedelta(0):
                raise ValueError("the virtual clock never moves backwards")
            self._now = self._now + delta
            return self._now


def parse_clock(spec: str) -> Clock:
    """`real`, `virtual`, or `virtual:2026-03-01T00:00:00Z`."""
    if spec == "real":
        return RealClock()
    if spec == "virtual":
        return VirtualClock()
    if spec.startswith("virtual:"):
        raw = spec.removeprefix("virtual:")
        start = datetime.fromisoformat(raw)
        if start.tzinfo is None:
            raise ValueError(f"the virtual clock's start {raw!r} needs a UTC offset")
        return VirtualClock(start)
    raise ValueError(f"unknown clock {spec!r}: use real, virtual or virtual:INSTANT")
