"""The rows of a CSV file an sftp entry imports (DESIGN.md, Reports, MEP and SFTP imports).

Columns: `externalId`, `phone`, `email`, the standard person attributes (`firstName`,
`lastName`, `country`, `timezone`, ...); any other column is a flow variable when the
flow declares one of that name, else a person attribute (of its declared type, text when
undeclared). A row is valid when it has at least one contact and every contact it has is
well-formed (the phone E.164 after normalisation, the email as `email-validator` says):
an invalid row is counted, never entered. An empty cell changes nothing.

Pure: no I/O. Phones and emails are checked by `domain.people`'s rules; a plain E.164
number and a plain address take a fast path whose answers are the same (a cache of
each country's rule, of each domain's), since a file of a million rows checks a million
of each (tests/domain/test_imports.py compares both paths).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
import phonenumbers
from phonenumbers import PhoneMetadata

from tidings.domain.people import (
    STANDARD_ATTRIBUTES,
    PersonChanges,
    check_standard,
    normalize_email,
    normalize_phone,
)
from tidings.domain.values import ValueType, check_text, coerce

CONTACTS = ("phone", "email")
MAX_CELL = 10_000

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# An address whose local part is a plain ASCII dot-atom: email-validator accepts such a
# local part as it is (its rules are about the domain, Unicode and quoting).
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([a-z0-9.-]+)"
)


@dataclass(frozen=True)
class Columns:
    """What each column of a file is, by position."""

    external_id: int | None = None
    phone: int | None = None
    email: int | None = None
    standard: dict[int, str] = field(default_factory=dict)
    variables: dict[int, tuple[str, ValueType]] = field(default_factory=dict)
    attributes: dict[int, tuple[str, ValueType]] = field(default_factory=dict)


def columns_of(
    header: list[str],
    variables: Mapping[str, ValueType],
    attributes: Mapping[str, ValueType],
) -> Columns:
    """The meaning of each column of `header` for a flow declaring `variables`, in an
    account whose custom attributes are `attributes` (undeclared ones are text)."""
    out = Columns()
    external_id = phone = email = None
    for i, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff")
        if not name:
            continue
        if name == "externalId":
            external_id = i
        elif name == "phone":
            phone = i
        elif name == "email":
            email = i
        elif name in STANDARD_ATTRIBUTES:
            out.standard[i] = name
        elif name in variables:
            out.variables[i] = (name, variables[name])
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
            out.attributes[i] = (name, attributes.get(name, ValueType.text))
    return Columns(external_id, phone, email, out.standard, out.variables, out.attributes)


class Row(NamedTuple):
    """A valid row: whom it names and what it sets. A tuple, so a part of rows checked in
    another process comes back cheaply (a dataclass took ten times longer to unpickle)."""

    external_id: str | None
    phone: str | None
    email: str | None
    standard: dict[str, Any]
    attributes: dict[str, Any]
    variables: dict[str, Any]

    @property
    def changes(self) -> PersonChanges:
        """What the row changes of its person."""
        return PersonChanges(
            self.standard,
            self.attributes,
            None if self.phone is None else [self.phone],
            None if self.email is None else [self.email],
            None,
            None,
        )


def check_row(cells: list[str], columns: Columns) -> Row | None:
    """The row, or None when it is invalid."""
    try:
        external_id = _cell(cells, columns.external_id)
        phone = _cell(cells, columns.phone)
        email = _cell(cells, columns.email)
        if phone is None and email is None:
            return None
        if phone is not None:
            phone = fast_phone(phone)
        if email is not None:
            email = fast_email(email)
        standard: dict[str, Any] = {}
        for i, name in columns.standard.items():
            value = _cell(cells, i)
            if value is not None:
                standard[name] = check_standard(name, value)
        attributes: dict[str, Any] = {}
        for i, (name, kind) in columns.attributes.items():
            value = _cell(cells, i)
            if value is not None:
                attributes[name] = coerce(_typed(value, kind), kind)
        variables: dict[str, Any] = {}
        for i, (name, kind) in columns.variables.items():
            value = _cell(cells, i)
            if value is not None:
                variables[name] = coerce(_typed(value, kind), kind)
    except ValueError:
        return None
    return Row(external_id, phone, email, standard, attributes, variables)


def check_slice(text: str, delimiter: str, columns: Columns) -> tuple[int, list[Row]]:
    """The rows of `text` (whole records of a file, no header; `split_csv`): how many
    there are (a blank line is no row) and the valid ones, in order."""
    total = 0
    valid: list[Row] = []
    for cells in csv.reader(io.StringIO(text), delimiter=delimiter):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        total += 1
        row = check_row(cells, columns)
        if row is not None:
            valid.append(row)
    return total, valid


def _cell(cells: list[str], index: int | None) -> str | None:
    if index is None or index >= len(cells):
        return None
    value = cells[index].strip()
    if not value:
        return None
    if len(value) > MAX_CELL:
        raise ValueError("a cell too long")
    return check_text(value)


def _typed(value: str, kind: ValueType) -> Any:
    """A cell as the JSON value `coerce` takes for `kind`."""
    if kind is ValueType.boolean:
        lower = value.lower()
        if lower in ("true", "yes", "1"):
            return True
        if lower in ("false", "no", "0"):
            return False
        raise ValueError("must be true or false")
    if kind is ValueType.list:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError("must be a JSON list") from None
    return value


def fast_phone(raw: str) -> str:
    """`normalize_phone(raw)`, without parsing a number written in E.164 already: its
    country code and national number are read off and checked as `phonenumbers` checks
    a parsed one (a national number with a leading zero takes the general path)."""
    if _E164.fullmatch(raw):
        code, national = _split(raw)
        if code is not None and national[:1] not in ("", "0"):
            matcher = _matcher(code, len(national))
            if matcher is not None:
                if matcher(national):
                    return raw
            elif phonenumbers.is_valid_number(
                phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            ):
                return raw
    return normalize_phone(raw)


# The number types `phonenumbers` tells a valid number by (its `_number_type_helper`):
# a number is valid when the general pattern and one of these match it whole.
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@functools.lru_cache(maxsize=4096)
def _matcher(code: int, length: int) -> Callable[[str], bool] | None:
    """Whether a national number of `length` digits of country `code` is valid, as
    `phonenumbers.is_valid_number` decides it, in one or two regular expressions (the
    general pattern, the types' patterns as one alternation); None for a code of several
    regions (+1, +7, +44...), which take `is_valid_number` itself."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code) or ()
    if len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if metadata is None:
        return None

    def pattern(desc: Any) -> str | None:
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and length not in desc.possible_length:
            return None
        return str(desc.national_number_pattern)

    general = pattern(metadata.general_desc)
    types = [p for p in (pattern(getattr(metadata, t)) for t in _TYPES) if p is not None]
    if general is None or not types:
        return lambda _national: False
    first = re.compile(general)
    rest = re.compile("|".join(f"(?:{p})" for p in types))
    return lambda national: bool(first.fullmatch(national) and rest.fullmatch(national))


def _split(number: str) -> tuple[int | None, str]:
    """(country code, national number) as `phonenumbers.parse` splits `+digits`."""
    for size in (1, 2, 3):
        code = int(number[1 : 1 + size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, number[1 + size :]
    return None, ""


def fast_email(raw: str) -> str:
    """`normalize_email(raw)`, faster for a plain ASCII address (its domain checked once)."""
    found = _PLAIN_EMAIL.fullmatch(raw)
    if found is not None and len(found.group(1)) <= 64 and len(raw) <= 254:
        domain = _domain(found.group(2))
        if domain is not None:
            return f"{found.group(1)}@{domain}"
    return normalize_email(raw)


@functools.lru_cache(maxsize=65_536)
def _domain(domain: str) -> str | None:
    """The normalised domain when an address of it with a plain local part is valid."""
    try:
        normalized = normalize_email(f"a@{domain}")
    except ValueError:
        return None
    return normalized.split("@", 1)[1]


def read_csv(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the rows of a CSV file (UTF-8, a BOM allowed; `,` or `;`)."""
    text, delimiter = _text(data)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    return header, reader


def split_csv(data: bytes | bytearray, records: int) -> tuple[list[str], str, Iterator[str]]:
    """The header, the delimiter and the rest of a CSV file (as `read_csv` reads it) in
    slices of `records` records each (the last may hold fewer), cut where a record ends,
    so `check_slice` of each reads exactly the records one reader of the whole file
    would (a quoted cell may hold a line break: the cuts are the reader's own). The
    slices are cut as they are asked for, so the first is checked while the file is
    still being cut."""
    text, delimiter = _text(data)
    end = 0

    def lines() -> Iterator[str]:
        nonlocal end
        for line in io.StringIO(text):
            end += len(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    header = next(reader, [])

    def slices() -> Iterator[str]:
        start, count = end, 0
        for _ in reader:
            count += 1
            if count == records:
                yield text[start:end]
                start, count = end, 0
        if start < len(text):
            yield text[start:]

    return header, delimiter, slices()


def _text(data: bytes | bytearray) -> tuple[str, str]:
    text = data.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    return text, ";" if first.count(";") > first.count(",") else ","
