"""The SQL a rule compiles to: its shape on both dialects, and the instant ordering trick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from tidings.domain.errors import ProblemList
from tidings.domain.segments import Rule, RuleSchema, check_rule
from tidings.domain.values import ValueType, coerce
from tidings.store.dialect import Dialect
from tidings.store.segment_sql import audience, sortable_instant

DIALECTS: dict[Dialect, Any] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
SCHEMA = RuleSchema(
    attributes={"points": ValueType.integer}, events={"Bought": {"sku": ValueType.text}}
)


def compiled(dialect: Dialect, raw: dict[str, Any]) -> str:
    problems = ProblemList()
    rule: Rule | None = check_rule(raw, SCHEMA, problems)
    assert rule is not None, problems.items
    return str(audience(dialect, 1, rule, 10**15).compile(dialect=DIALECTS[dialect]))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_event_counts_are_correlated_and_capped(dialect: Dialect) -> None:
    sql = compiled(dialect, {"event": "Bought", "count": {"op": "gte", "value": 3}})
    # One scan of people; the events subquery refers to the outer row, never joins people.
    assert sql.count("FROM people") == 1
    assert "events, people" not in sql
    assert "people, events" not in sql
    assert "LIMIT" in sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    ("count", "shape"),
    [
        ({"op": "gte", "value": 1}, "EXISTS"),
        ({"op": "gt", "value": 0}, "EXISTS"),
        ({"op": "eq", "value": 0}, "NOT (EXISTS"),
        ({"op": "lte", "value": 0}, "NOT (EXISTS"),
    ],
)
def test_presence_tests_are_plain_exists(dialect: Dialect, count: Any, shape: str) -> None:
    sql = compiled(dialect, {"event": "Bought", "count": count})
    assert shape in sql
    assert "count(" not in sql


_instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(8999, 12, 31), timezones=st.just(UTC)
).map(lambda d: coerce(d.isoformat(), ValueType.datetime))


@given(_instants, _instants)
def test_sortable_instants_order_as_texts(a: str, b: str) -> None:
    def when(text: str) -> datetime:
        return datetime.fromisoformat(text)

    left, right = sortable_instant(a), sortable_instant(b)
    assert (left < right) == (when(a) < when(b))
    assert (left == right) == (when(a) == when(b))
