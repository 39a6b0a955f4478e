"""Typed values: what each declared type accepts, and its canonical form."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.domain.values import ValueType, coerce


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        (ValueType.boolean, True, True),
        (ValueType.text, "hi", "hi"),
        (ValueType.decimal, "12.50", 12.5),
        (ValueType.decimal, 3, 3),
        (ValueType.integer, 4.0, 4),
        (ValueType.integer, "7", 7),
        (ValueType.date, "2026-01-31", "2026-01-31"),
        (ValueType.datetime, "2026-01-31T10:00:00+01:00", "2026-01-31T09:00:00Z"),
        (ValueType.list, [1, "a"], [1, "a"]),
        (ValueType.text, None, None),
    ],
)
def test_accepted(kind: ValueType, raw: Any, stored: Any) -> None:
    assert coerce(raw, kind) == stored


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (ValueType.boolean, "true"),
        (ValueType.boolean, 1),
        (ValueType.text, 5),
        (ValueType.decimal, True),
        (ValueType.decimal, "abc"),
        (ValueType.decimal, float("nan")),
        (ValueType.integer, 4.5),
        (ValueType.date, "31/01/2026"),
        (ValueType.datetime, "2026-01-31T10:00:00"),
        (ValueType.list, "a,b"),
        (ValueType.text, "x" * 5000),
    ],
)
def test_refused(kind: ValueType, raw: Any) -> None:
    with pytest.raises(ValueError):
        coerce(raw, kind)


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integers_survive_every_numeric_type(value: int) -> None:
    assert coerce(value, ValueType.integer) == value
    assert coerce(str(value), ValueType.integer) == value
    assert coerce(value, ValueType.decimal) == value


@given(st.one_of(st.text(), st.booleans(), st.none(), st.floats(), st.lists(st.integers())))
def test_coerce_never_raises_anything_but_value_error(raw: Any) -> None:
    for kind in ValueType:
        with contextlib.suppress(ValueError):
            coerce(raw, kind)
