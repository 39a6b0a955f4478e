"""ISO 8601 durations and instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.domain.durations import (
    format_instant,
    from_micros,
    parse_duration,
    parse_instant,
    to_micros,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("PT2H", timedelta(hours=2)),
        ("P1D", timedelta(days=1)),
        ("P1W", timedelta(weeks=1)),
        ("P1DT12H30M", timedelta(days=1, hours=12, minutes=30)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("PT0S", timedelta(0)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "P", "PT", "1D", "P1M", "P1Y", "PT1D", "P-1D", "P99999999D"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 8601|100 years"):
        parse_duration(text)


def test_instants_need_an_offset_and_come_out_in_utc() -> None:
    assert format_instant(parse_instant("2026-03-29T02:30:00+02:00")) == "2026-03-29T00:30:00Z"
    with pytest.raises(ValueError, match="offset"):
        parse_instant("2026-03-29T02:30:00")
    with pytest.raises(ValueError, match="range"):
        parse_instant("0001-01-01T00:00:00+01:00")


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)))
def test_micros_round_trip(value: datetime) -> None:
    aware = value.replace(tzinfo=UTC)
    assert from_micros(to_micros(aware)) == aware


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)))
def test_formatted_instants_parse_back_to_the_same_instant(value: datetime) -> None:
    aware = value.replace(tzinfo=UTC)
    assert parse_instant(format_instant(aware)) == aware
