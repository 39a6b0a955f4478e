"""Catalogs: an account's tables of items by key, with typed columns.

An item is its key (the `id` column, always text) and a value per declared column; the
values are checked against the column types with the same rules as custom attributes
and event properties (`values.coerce`), and stored without nulls (an absent value and a
null are the same thing). `catalog_lookup` finds one item by key and reads its columns
as `item.<column>` (`item.id` is the key).

CSV cells are text, so `cell_value` reads each by its column's type first: an empty
cell is null, numbers, dates and instants as written, booleans as true/false (or 1/0,
yes/no), lists as a JSON array.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import orjson

from tidings.domain.durations import format_instant
from tidings.domain.errors import InvalidInput, Problem, ProblemList, TooLarge
from tidings.domain.values import ValueType, check_text, coerce

KEY_COLUMN: Final = "id"
MAX_KEY: Final = 256
MAX_COLUMNS: Final = 100
MAX_NAME: Final = 128
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})

Columns = Mapping[str, ValueType]


def check_catalog_name(name: str) -> str:
    """A catalog name as flows refer to it: a letter, then letters, digits, `_` or `-`."""
    if not _NAME.match(name):
        raise ValueError(
            f"must start with a letter and hold at most {MAX_NAME} letters, digits, _ or -"
        )
    return name


def check_columns(
    raw: Sequence[tuple[str, ValueType]], problems: ProblemList, prefix: str = "columns"
) -> list[tuple[str, ValueType]]:
    """The declared columns (name, type) in order; bad names and repeats are problems."""
    out: list[tuple[str, ValueType]] = []
    seen: set[str] = set()
    if len(raw) > MAX_COLUMNS:
        problems.add(prefix, f"at most {MAX_COLUMNS} columns")
        return out
    for index, (name, kind) in enumerate(raw):
        where = f"{prefix}.{index}.name"
        if name == KEY_COLUMN:
            problems.add(where, f"{KEY_COLUMN!r} is the key column of every catalog")
        elif not _COLUMN.match(name):
            problems.add(where, "must start with a letter or _ and hold only letters, digits and _")
        elif name in seen:
            problems.add(where, f"column {name!r} is given twice")
        else:
            seen.add(name)
            out.append((name, kind))
    return out


def check_key(key: Any, where: str, problems: ProblemList) -> str | None:
    """An item key: a text of 1 to 256 characters, without spaces around it."""
    if not isinstance(key, str):
        problems.add(where, "must be a text")
        return None
    if not key or len(key) > MAX_KEY:
        problems.add(where, f"must be 1 to {MAX_KEY} characters")
        return None
    if key != key.strip():
        problems.add(where, "must not start or end with spaces")
        return None
    try:
        return check_text(key)
    except ValueError as exc:
        problems.add(where, str(exc))
        return None


def check_values(
    values: Mapping[str, Any], columns: Columns, problems: ProblemList, prefix: str = "values"
) -> dict[str, Any]:
    """An item's values in canonical form, nulls left out; unknown columns are problems."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind = columns.get(name)
        where = f"{prefix}.{name}"
        if kind is None:
            problems.add(where, "is not a column of this catalog")
            continue
        try:
            canonical = coerce(value, kind)
        except ValueError as exc:
            problems.add(where, str(exc))
            continue
        if canonical is not None:
            out[name] = canonical
    return out


def cell_value(text: str, kind: ValueType) -> Any:
    """The value of a CSV cell in a column of type `kind`, or ValueError saying why not."""
    if kind is ValueType.text:
        return coerce(text, kind) if text != "" else None
    text = text.strip()
    if not text:
        return None
    if kind is ValueType.boolean:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("must be true or false")
    if kind is ValueType.list:
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ValueError('must be a JSON list such as ["a", "b"]') from None
        return coerce(parsed, kind)
    if kind in (ValueType.integer, ValueType.decimal):
        return coerce(_number(text), kind)
    return coerce(text, kind)


def _number(text: str) -> int | float:
    """A number as written in a cell (`3`, `3.0`, `1e3`); `3.0` counts as a whole number."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError("must be a number") from None


def item_key(value: Any) -> str | None:
    """The key a `catalog_lookup` looks for, from its expression's value; None (nothing
    to look for) when the value is null, empty or not a single value."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        key = value
    elif isinstance(value, int):
        key = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        key = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, datetime):
        key = format_instant(value)
    elif isinstance(value, date):
        key = value.isoformat()
    else:
        return None
    return key if 0 < len(key) <= MAX_KEY else None


def with_key(columns: Columns) -> dict[str, ValueType]:
    """The columns `item.x` may read: the key column and the declared ones."""
    return {KEY_COLUMN: ValueType.text, **columns}


# --- CSV upload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """Why one CSV row was not imported: its row number (the header is row 1, as in a
    spreadsheet), the column at fault (None for the row as a whole) and the reason."""

    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class CsvRows:
    """A CSV file read against a catalog's columns: the good rows and why others failed."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    refused: int = 0


def parse_csv(text: str, columns: Columns, *, max_rows: int) -> CsvRows:
    """Read a CSV file whose header names the key column `id` and every declared column
    (in any order). A bad header or a file that is not CSV refuses the whole file
    (InvalidInput); a bad row is reported and skipped; more than `max_rows` rows is
    TooLarge. Blank lines are skipped (but counted, so row numbers match a spreadsheet)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out = CsvRows()
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise InvalidInput(
                [Problem("header", f"the first row must name the columns: {KEY_COLUMN}, ...")]
            )
        names = _header(header, columns)
        for row_number, cells in enumerate(reader, start=2):
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(out.items) + out.refused >= max_rows:
                raise TooLarge(f"at most {max_rows} rows per upload; split the file")
            _row(out, row_number, cells, names, columns)
    except csv.Error as exc:
        raise InvalidInput(
            [Problem("body", f"is not valid CSV at line {reader.line_num}: {exc}")]
        ) from None
    return out


def _header(header: list[str], columns: Columns) -> list[str]:
    problems = ProblemList()
    names = [cell.strip().lstrip("\ufeff") for cell in header]
    seen: set[str] = set()
    for index, name in enumerate(names):
        where = f"header.{index}"
        if name in seen:
            problems.add(where, f"column {name!r} is named twice")
        elif name != KEY_COLUMN and name not in columns:
            known = ", ".join([KEY_COLUMN, *columns])
            problems.add(where, f"{name!r} is not a column of this catalog (columns: {known})")
        seen.add(name)
    if KEY_COLUMN not in seen:
        problems.add("header", f"the key column {KEY_COLUMN!r} is missing")
    missing = [name for name in columns if name not in seen]
    if missing:
        problems.add("header", f"columns missing: {', '.join(missing)}")
    problems.raise_if_any()
    return names


def _row(
    out: CsvRows, row_number: int, cells: list[str], names: list[str], columns: Columns
) -> None:
    if len(cells) != len(names):
        out.errors.append(
            RowError(row_number, None, f"has {len(cells)} cells; the header has {len(names)}")
        )
        out.refused += 1
        return
    errors: list[RowError] = []
    key: str | None = None
    values: dict[str, Any] = {}
    for name, cell in zip(names, cells, strict=True):
        if name == KEY_COLUMN:
            problems = ProblemList()
            key = check_key(cell.strip(), name, problems)
            errors += [RowError(row_number, name, p.message) for p in problems.items]
            continue
        try:
            value = cell_value(cell, columns[name])
        except ValueError as exc:
            errors.append(RowError(row_number, name, str(exc)))
            continue
        if value is not None:
            values[name] = value
    if errors or key is None:
        out.errors += errors
        out.refused += 1
        return
    out.items.append((key, values))
