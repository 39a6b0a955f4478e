"""Catalog rules: names, columns, keys, typed values, CSV cells and files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tidings.domain.catalogs import (
    check_catalog_name,
    check_columns,
    check_key,
    check_values,
    item_key,
    parse_csv,
)
from tidings.domain.errors import InvalidInput, ProblemList, TooLarge
from tidings.domain.values import ValueType as V

COLUMNS = {"title": V.text, "price": V.decimal, "stock": V.integer, "sale": V.boolean}


def test_catalog_names() -> None:
    assert check_catalog_name("spring-shoes_2026") == "spring-shoes_2026"
    for bad in ("", "2shoes", "shoes!", "x" * 129, "a b"):
        with pytest.raises(ValueError, match="must start with a letter"):
            check_catalog_name(bad)


def test_columns_refuse_the_key_column_bad_names_and_repeats() -> None:
    problems = ProblemList()
    kept = check_columns(
        [("title", V.text), ("id", V.text), ("2x", V.integer), ("title", V.decimal)], problems
    )
    assert kept == [("title", V.text)]
    assert [(p.field, p.message) for p in problems.items] == [
        ("columns.1.name", "'id' is the key column of every catalog"),
        ("columns.2.name", "must start with a letter or _ and hold only letters, digits and _"),
        ("columns.3.name", "column 'title' is given twice"),
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "must be 1 to 256 characters"),
        ("x" * 257, "must be 1 to 256 characters"),
        (" A-1", "must not start or end with spaces"),
        ("A\x00", "must not contain NUL characters"),
        (12, "must be a text"),
    ],
)
def test_bad_keys(key: Any, message: str) -> None:
    problems = ProblemList()
    assert check_key(key, "id", problems) is None
    assert [(p.field, p.message) for p in problems.items] == [("id", message)]


def test_values_are_coerced_nulls_dropped_unknown_columns_refused() -> None:
    problems = ProblemList()
    values = check_values(
        {"title": "Boots", "price": "80.5", "stock": 3.0, "sale": None, "colour": "red"},
        COLUMNS,
        problems,
    )
    assert values == {"title": "Boots", "price": 80.5, "stock": 3}
    assert [(p.field, p.message) for p in problems.items] == [
        ("values.colour", "is not a column of this catalog")
    ]


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("A-1", "A-1"),
        (17, "17"),
        (17.0, "17"),
        (17.5, "17.5"),
        (date(2026, 1, 31), "2026-01-31"),
        (datetime(2026, 1, 31, 9, tzinfo=UTC), "2026-01-31T09:00:00Z"),
        (None, None),
        ("", None),
        (True, None),
        (["a"], None),
        ("x" * 257, None),
        (float("nan"), None),
    ],
)
def test_the_lookup_key_of_a_value(value: Any, key: str | None) -> None:
    assert item_key(value) == key


def test_a_csv_file_with_good_and_bad_rows() -> None:
    text = (
        "\ufeffprice,id,title,stock,sale\r\n"
        '80.5,A-1,"Boots, red",3,TRUE\r\n'
        "lots,A-2,Hat,2.5,maybe\r\n"
        "\r\n"
        "1,A-3\r\n"
        ",  A-4 ,,,\r\n"
        ",,Nameless,,\r\n"
    )
    rows = parse_csv(text, COLUMNS, max_rows=10)
    assert rows.items == [
        ("A-1", {"price": 80.5, "title": "Boots, red", "stock": 3, "sale": True}),
        ("A-4", {}),
    ]
    assert rows.refused == 3
    assert [e.as_dict() for e in rows.errors] == [
        {"row": 3, "column": "price", "message": "must be a number"},
        {"row": 3, "column": "stock", "message": "must be a whole number"},
        {"row": 3, "column": "sale", "message": "must be true or false"},
        {"row": 5, "column": None, "message": "has 2 cells; the header has 5"},
        {"row": 7, "column": "id", "message": "must be 1 to 256 characters"},
    ]


def test_list_cells_are_json() -> None:
    rows = parse_csv('id,tags\nA,"[""a"", 1]"\nB,a;b\n', {"tags": V.list}, max_rows=10)
    assert rows.items == [("A", {"tags": ["a", 1]})]
    assert rows.errors[0].message == 'must be a JSON list such as ["a", "b"]'


@pytest.mark.parametrize(
    ("header", "field", "message"),
    [
        ("", "header", "the first row must name the columns: id, ..."),
        ("title,price,stock,sale", "header", "the key column 'id' is missing"),
        ("id,title,price,stock", "header", "columns missing: sale"),
        ("id,title,price,stock,sale,colour", "header.5", "'colour' is not a column"),
        ("id,title,title,price,stock,sale", "header.2", "column 'title' is named twice"),
    ],
)
def test_a_bad_header_refuses_the_file(header: str, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv(header + "\nA-1,x,1,1,true\n", COLUMNS, max_rows=10)
    assert [p.field for p in caught.value.problems] == [field]
    assert caught.value.problems[0].message.startswith(message)


def test_broken_quoting_and_too_many_rows() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv('id\n"A-1"x\n', {}, max_rows=10)
    assert caught.value.problems[0].field == "body"
    assert "line 2" in caught.value.problems[0].message
    with pytest.raises(TooLarge, match="at most 2 rows"):
        parse_csv("id\nA\nB\nC\n", {}, max_rows=2)
