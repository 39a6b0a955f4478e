"""Schedule start and end: instants with an offset, or wall times in the flow's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tidings.domain.flows import ValidationContext, parse_document, validate
from tidings.domain.flows.schedule import schedule_instant, schedule_instants


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-03-01T09:00:00+01:00", "Pacific/Auckland", utc(2026, 3, 1, 8)),  # an instant
        ("2026-03-01T09:00:00Z", "Europe/Zagreb", utc(2026, 3, 1, 9)),
        ("2026-03-01T09:00", "Europe/Zagreb", utc(2026, 3, 1, 8)),  # CET
        ("2026-07-01T09:00", "Europe/Zagreb", utc(2026, 7, 1, 7)),  # CEST
        ("2026-07-01T09:00", "Pacific/Auckland", utc(2026, 6, 30, 21)),  # NZST
        ("2026-07-01", "Europe/Zagreb", utc(2026, 6, 30, 22)),  # a date: its midnight
        # Spring forward skips 02:30: it moves on by the gap. Fall back: the first 02:30.
        ("2026-03-29T02:30", "Europe/Zagreb", utc(2026, 3, 29, 1, 30)),
        ("2026-10-25T02:30", "Europe/Zagreb", utc(2026, 10, 25, 0, 30)),
        ("2026-03-01T09:00", "Mars/Base", utc(2026, 3, 1, 9)),  # no such zone: UTC
    ],
)
def test_schedule_instant(text: str, zone: str, expected: datetime) -> None:
    assert schedule_instant(text, zone) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("tomorrow", "is not an ISO 8601 instant"), ("9999-01-01T00:00", "out of range")],
)
def test_schedule_instant_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule_instant(text, "UTC")


def document(schedule: dict[str, Any], timezone: str | None = "Europe/Zagreb") -> Any:
    data: dict[str, Any] = {
        "name": "Scheduled",
        "entry": {"type": "api"},
        "settings": {"schedule": schedule},
        "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"}],
    }
    if timezone is not None:
        data["timezone"] = timezone
    return parse_document(data)


def test_the_flows_zone_else_the_accounts() -> None:
    schedule = {"start": "2026-03-01T09:00", "end": "2026-04-01T09:00:00Z"}
    assert schedule_instants(document(schedule), "Pacific/Auckland") == (
        utc(2026, 3, 1, 8),
        utc(2026, 4, 1, 9),
    )
    assert schedule_instants(document(schedule, None), "Pacific/Auckland") == (
        utc(2026, 2, 28, 20),
        utc(2026, 4, 1, 9),
    )
    assert schedule_instants(document({}), "UTC") == (None, None)


def test_validation_reads_wall_times_and_compares_start_and_end() -> None:
    ok = document({"start": "2026-03-01T09:00", "end": "2026-03-01T10:00"})
    assert [p for p in validate(ok, ValidationContext()) if "schedule" in p.field] == []
    backwards = document({"start": "2026-03-01T09:00", "end": "2026-03-01T08:30:00+01:00"})
    fields = {p.field: p.message for p in validate(backwards, ValidationContext())}
    assert fields["settings.schedule.end"] == "the end must come after the start"
    bad = document({"start": "soon"})
    fields = {p.field: p.message for p in validate(bad, ValidationContext())}
    assert "is not an ISO 8601 instant" in fields["settings.schedule.start"]
