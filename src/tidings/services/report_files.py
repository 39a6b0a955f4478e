"""A report's rows written as a CSV or XLSX file, a piece at a time: the writer hands
each piece of about `PIECE` bytes to `sink` as it fills, so memory holds one piece and
never the report (a million rows stream through).

- **CSV**: UTF-8 with a byte order mark. Without it Excel, where most of these files
  are opened, reads a CSV in the machine's ANSI code page and garbles every name
  with an accent; with it Excel, LibreOffice and Google Sheets read UTF-8 (a program
  reading it itself says `utf-8-sig`). A text cell that a spreadsheet would run as a
  formula, one beginning with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's
  CSV injection list), is written with a leading `'`, which the spreadsheet shows as
  text; numbers are written as numbers, never escaped. Instants are ISO 8601 in UTC.
- **XLSX**: xlsxwriter in `constant_memory` mode (each row goes to a temporary file as
  it is written); text is written as text (never read as a formula, so it needs no
  escape), numbers as numbers, instants as real dates (UTC) with a date format. A sheet
  holds 1,048,576 rows: the rows go on in a next sheet, headed again.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import xlsxwriter

Cell = str | int | float | bool | datetime | None
Sink = Callable[[bytes], None]
PIECE = 1 << 20  # bytes handed to the sink at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_SET = frozenset(FORMULA_STARTS)
XLSX_ROWS = 1_048_576  # rows of a sheet, the header's included
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def escape(value: str) -> str:
    """A text cell as a spreadsheet shows it and never runs it (see the module doc)."""
    return "'" + value if value[:1] in FORMULA_SET else value


def _instant(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _csv_cell(value: Cell) -> Any:
    """Any cell as the CSV writer takes it (the slow path of `CSV_CELL`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _instant(value)
    return value


def _same(value: Any) -> Any:
    return value


# by the cell's exact type (a lookup, not a chain of isinstance: a million rows of nine)
CSV_CELL: dict[type, Callable[[Any], Any]] = {
    str: escape,
    int: _same,
    float: _same,
    bool: lambda v: "true" if v else "false",
    datetime: _instant,
    type(None): lambda v: "",
}


def write_csv(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], sink: Sink, *, bom: bool = True
) -> int:
    """Write the file into `sink` piece by piece; answers how many rows (header aside).
    `bom`: the byte order mark Excel needs (a table other programs read may go without)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow([escape(h) for h in header])
    count = 0
    cell, other = CSV_CELL.get, _csv_cell
    for row in rows:
        writer.writerow([(cell(v.__class__) or other)(v) for v in row])
        count += 1
        if buffer.tell() >= PIECE:
            sink(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        sink(buffer.getvalue().encode("utf-8"))
    return count


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
EXCEL_EPOCH_DAYS = 25569  # 1899-12-30 to 1970-01-01, in Excel's 1900 date system


def _write_other(page: Any, line: int, column: int, value: Any, instant: Any) -> None:
    """A cell of another type than the usual ones (a subclass of one of them)."""
    if isinstance(value, bool):
        page.write_boolean(line, column, value)
    elif isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None)
        page.write_datetime(line, column, naive, instant)
    elif isinstance(value, str):
        page.write_string(line, column, value)
    else:
        page.write_number(line, column, value)


def write_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], sink: Sink, *, sheet: str
) -> int:
    """Write the workbook (in a temporary file, row by row), then hand it to `sink`
    piece by piece; answers how many rows (headers aside)."""
    handle, path = tempfile.mkstemp(prefix="tidings-report-", suffix=".xlsx")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": tempfile.gettempdir(),
            },
        )
        instant = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        bold = book.add_format({"bold": True})
        count = 0
        sheets = 0
        line = XLSX_ROWS
        page: Any = None
        string: Any = None
        number: Any = None
        boolean: Any = None
        for row in rows:
            if line >= XLSX_ROWS:
                sheets += 1
                page = book.add_worksheet(sheet if sheets == 1 else f"{sheet} {sheets}")
                for column, title in enumerate(header):
                    page.write_string(0, column, title, bold)
                # the row/column forms of write_string & co., without their A1 wrapper
                # (a tenth of the time at a million rows of nine cells)
                string, number, boolean = (
                    page._write_string,
                    page._write_number,
                    page._write_boolean,
                )
                line = 1
            cells: Sequence[Any] = row  # checked by exact type below (mypy reads Cell)
            for column, value in enumerate(cells):
                kind = value.__class__
                if value is None:
                    continue
                if kind is str:
                    string(line, column, value)
                elif kind is int or kind is float:
                    number(line, column, value)
                elif kind is datetime:
                    # Excel's serial day (1900 system), as write_datetime computes it
                    number(line, column, (value - EPOCH) / DAY + EXCEL_EPOCH_DAYS, instant)
                elif kind is bool:
                    boolean(line, column, value)
                else:
                    _write_other(page, line, column, value, instant)
            line += 1
            count += 1
        if page is None:  # no rows: the header alone
            page = book.add_worksheet(sheet)
            for column, title in enumerate(header):
                page.write_string(0, column, title, bold)
        book.close()
        with open(path, "rb") as done:
            while piece := done.read(PIECE):
                sink(piece)
        return count
    finally:
        os.unlink(path)
