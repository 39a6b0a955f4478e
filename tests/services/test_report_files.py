"""The report file writers alone (services/report_files.py): what a spreadsheet would
run is escaped in CSV and kept as text in XLSX, files come out a piece at a time, and an
XLSX of more rows than a sheet holds goes on in a next sheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from tidings.services import report_files
from tidings.services.report_files import write_csv, write_xlsx

AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def csv_of(header: list[str], rows: list[list[object]]) -> tuple[list[list[str]], list[bytes]]:
    pieces: list[bytes] = []
    write_csv(header, rows, pieces.append)
    content = b"".join(pieces)
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")))), pieces


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+385911234567", "'+385911234567"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=1", "a=1"),
        ("", ""),
        ("Čaj", "Čaj"),
    ],
)
def test_csv_escapes_text_a_spreadsheet_would_run(text: str, written: str) -> None:
    rows, _ = csv_of(["Person ID"], [[text]])
    assert rows[1] == [written]


def test_csv_writes_numbers_booleans_and_instants_as_themselves() -> None:
    rows, _ = csv_of(["n", "x", "b", "at", "none"], [[-5, -0.5, True, AT, None]])
    assert rows[1] == ["-5", "-0.5", "true", "2026-01-05T09:30:00Z", ""]


def test_csv_comes_out_a_piece_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_files, "PIECE", 1000)
    rows, pieces = csv_of(["n"], [[f"row {n:05d}"] for n in range(1000)])
    assert len(pieces) > 5
    assert all(len(p) < 2000 for p in pieces)
    assert [r[0] for r in rows[1:]] == [f"row {n:05d}" for n in range(1000)]


def test_xlsx_keeps_text_as_text_and_goes_on_in_a_next_sheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(report_files, "XLSX_ROWS", 4)  # a header and three rows a sheet
    pieces: list[bytes] = []
    rows = [["=1+2", n, AT, n % 2 == 0, None] for n in range(7)]
    count = write_xlsx(["text", "n", "at", "even", "none"], rows, pieces.append, sheet="P")
    assert count == 7
    book = openpyxl.load_workbook(io.BytesIO(b"".join(pieces)), read_only=True)
    assert book.sheetnames == ["P", "P 2", "P 3"]
    found = [list(r) for name in book.sheetnames for r in book[name].iter_rows(values_only=True)]
    assert found.count(["text", "n", "at", "even", "none"]) == 3
    data = [r for r in found if r[0] != "text"]
    naive = AT.replace(tzinfo=None)
    assert data == [["=1+2", n, naive, n % 2 == 0, None] for n in range(7)]


def test_xlsx_of_no_rows_is_its_header() -> None:
    pieces: list[bytes] = []
    assert write_xlsx(["a", "b"], [], pieces.append, sheet="Flow") == 0
    book = openpyxl.load_workbook(io.BytesIO(b"".join(pieces)), read_only=True)
    assert [list(r) for r in book["Flow"].iter_rows(values_only=True)] == [["a", "b"]]
