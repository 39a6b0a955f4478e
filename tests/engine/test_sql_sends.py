"""store/composed_sms.py: the SQL that composes SMS agrees with the domain's rules."""

from __future__ import annotations

from tidings.bootstrap import Tidings
from tidings.domain import sms
from tidings.domain.templates import Field, Piece
from tidings.store.composed_sms import _parts
from tidings.store.dialect import param

TEXTS = [
    "",
    "Hi Ana",
    "x@y_$ £",  # GSM-7 but not ASCII: counted by domain/sms
    "Ćao",
    "a`b",  # the backtick is not in GSM 03.38
    "curly {x} [y] ~ | ^ \\ €",  # two septets each
    *(f"one {char} of GSM-7's extension" for char in "{}[]~|^\\"),
    "tab\there",
    "new\nline",
    *("A" * n for n in (70, 153, 159, 160, 161, 305, 306, 307, 459, 460, 1000)),
    *("A" * n + "Ć" for n in (60, 69, 70, 133, 134)),
]


def splits(value: str) -> list[tuple[tuple[Piece, ...], list[str]]]:
    """The text as pieces in several ways (literals, and the person's fields `m.f0`,
    `m.f1` with their values), so each character is checked by Python or by SQL."""
    third = len(value) // 3
    head, middle, tail = value[:third], value[third : 2 * third], value[2 * third :]
    name = Field("firstName", None)
    return [
        ((value,), []),
        ((name,), [value]),
        ((head, name, tail), [middle]),
        ((name, middle, name), [head, tail]),
    ]


def test_the_parts_sql_counts_plain_texts_as_sms_does_and_leaves_the_rest(
    system: Tidings,
) -> None:
    dialect = system.db.dialect
    p = param(dialect)
    with system.db.read() as conn:
        for value in TEXTS:
            plain = value.isascii() and value.isprintable() and not set(value) & set("`^{}~|[]\\")
            for pieces, fields in splits(value):
                expression, patterns = _parts(dialect, pieces)
                found = conn.exec_driver_sql(
                    f"SELECT {expression} FROM (SELECT CAST({p} AS TEXT) AS f0, "
                    f"CAST({p} AS TEXT) AS f1) AS m",
                    (*patterns, *fields, *[""] * (2 - len(fields))),
                ).scalar()
                if plain:
                    assert found == sms.parts(value), (value, pieces)
                else:
                    assert found is None, (value, pieces)  # left to domain/sms.parts
