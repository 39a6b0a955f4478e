"""The rows of an sftp import: the fast phone and email paths answer as `domain.people`
does, and a row is valid only with a contact, every contact well-formed."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.domain.imports import (
    check_row,
    check_slice,
    columns_of,
    fast_email,
    fast_phone,
    read_csv,
    split_csv,
)
from tidings.domain.people import normalize_email, normalize_phone
from tidings.domain.values import ValueType


def _same(fast: object, slow: object, raw: str) -> None:
    try:
        expected = slow(raw)  # type: ignore[operator]
    except ValueError:
        with pytest.raises(ValueError):
            fast(raw)  # type: ignore[operator]
        return
    assert fast(raw) == expected  # type: ignore[operator]


@given(st.from_regex(r"\+[0-9]{1,16}", fullmatch=True))
def test_fast_phone_answers_as_normalize_phone(raw: str) -> None:
    _same(fast_phone, normalize_phone, raw)


@pytest.mark.parametrize(
    "raw",
    ["+385911234567", "+14155552671", "+390612345678", "+44 20 7946 0018", "+1234", "12345"],
)
def test_fast_phone_on_known_numbers(raw: str) -> None:
    _same(fast_phone, normalize_phone, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "ana@example.com",
        "A.b+tag@Example.COM",
        "a..b@example.com",
        ".a@example.com",
        "a@b",
        "a@-x.com",
        "üser@example.com",
        "a@xn--bcher-kva.example",
        "x" * 65 + "@example.com",
        "not-an-email",
    ],
)
def test_fast_email_answers_as_normalize_email(raw: str) -> None:
    _same(fast_email, normalize_email, raw)


def test_rows_need_a_contact_and_every_contact_well_formed() -> None:
    header, rows = read_csv(
        "\ufeffexternalId;phone;email;firstName;coupon;score\n"
        "a;+385911234567;;Ana;C1;7\n"
        "b;;bad;Bo;;\n"
        "c;;;Cy;;\n"
        "d;+385911234567;bad@;Di;;\n"
        "e;;e@example.com;;;x\n".encode()
    )
    columns = columns_of(header, {"coupon": ValueType.text}, {"score": ValueType.integer})
    checked = [check_row(cells, columns) for cells in rows]
    assert [r is not None for r in checked] == [True, False, False, False, False]
    first = checked[0]
    assert first is not None
    assert first.variables == {"coupon": "C1"}
    assert first.changes.attributes == {"score": 7}
    assert first.changes.standard == {"firstName": "Ana"}


_CELL = st.text(alphabet='ab,;"\n\r +1', max_size=6)


@given(st.lists(st.lists(_CELL, min_size=1, max_size=4), max_size=30), st.integers(1, 5))
def test_slices_read_the_records_one_reader_of_the_whole_file_reads(
    records: list[list[str]], size: int
) -> None:
    """`split_csv` cuts where a record ends, whatever the cells hold (quotes, line
    breaks, delimiters), so checking its slices answers what checking the whole does."""
    out = io.StringIO()
    csv.writer(out).writerows([["externalId", "phone", "email"], *records])
    data = out.getvalue().encode()
    header, rows = read_csv(data)
    whole = list(rows)
    columns = columns_of(header, {}, {})
    cut_header, delimiter, cut = split_csv(data, size)
    slices = list(cut)
    assert cut_header == header
    again: list[list[str]] = []
    for text in slices:
        again.extend(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert again == whole
    counted = [check_slice(text, delimiter, columns) for text in slices]
    blank = [cells for cells in whole if not cells or (len(cells) == 1 and not cells[0].strip())]
    assert sum(total for total, _ in counted) == len(whole) - len(blank)
    expected = [check_row(cells, columns) for cells in whole if cells not in blank]
    assert [row for _, valid in counted for row in valid] == [r for r in expected if r]
