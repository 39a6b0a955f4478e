"""Wall-clock helpers for engine tests on the shared virtual clock.

The virtual clock of a test session only moves forward and other tests move it too, so
these tests never name a date: they ask for the next Monday 09:00 in a zone, or the next
day a zone's clocks spring forward, after whatever the clock reads now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import Api

ZAGREB = ZoneInfo("Europe/Zagreb")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NEW_YORK = ZoneInfo("America/New_York")


def clock(api: Api) -> datetime:
    now: str = api.get("/clock").json()["now"]
    return datetime.fromisoformat(now)


def advance_to(api: Api, instant: datetime) -> None:
    """Move the virtual clock to `instant` (it must not be in the past) and drain."""
    text = instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    answer = api.post("/clock/advance", json={"to": text})
    assert answer.status_code == 200, answer.text


def advance_by(api: Api, by: str = "PT0S") -> None:
    answer = api.post("/clock/advance", json={"by": by})
    assert answer.status_code == 200, answer.text


def at(zone: ZoneInfo, day: date, hours: int, minutes: int = 0, fold: int = 0) -> datetime:
    """The UTC instant of a wall time in `zone` (a skipped one moves on by the gap)."""
    wall = datetime.combine(day, time(hours, minutes), tzinfo=zone).replace(fold=fold)
    return wall.astimezone(UTC)


def next_weekday(zone: ZoneInfo, after: datetime, weekday: int, *, days_ahead: int = 1) -> date:
    """The first local date in `zone`, at least `days_ahead` days after the local date
    of `after`, that is `weekday` (0 = Monday)."""
    day = after.astimezone(zone).date() + timedelta(days=days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def next_spring_forward(zone: ZoneInfo, after: datetime) -> date:
    """The next local date (at least two days after `after`) on which the clocks of
    `zone` jump forward."""
    day = after.astimezone(zone).date() + timedelta(days=2)
    for _ in range(2 * 366):
        before = at(zone, day, 0).astimezone(zone).utcoffset()
        later = at(zone, day + timedelta(days=1), 0).astimezone(zone).utcoffset()
        assert before is not None
        assert later is not None
        if later > before:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone} does not change its clocks")


def sent_at(message: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(message["sentAt"]))
