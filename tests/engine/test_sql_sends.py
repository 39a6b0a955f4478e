"""store/composed_sms.py: the SQL that composes SMS agrees with the domain's rules."""

from __future__ import annotations

from tidings.bootstrap import Tidings
from tidings.domain import sms
from tidings.store.composed_sms import _parts
from tidings.store.dialect import param

TEXTS = [
    "",
    "Hi Ana",
    "x@y_$ £",  # GSM-7 but not ASCII: counted by domain/sms
    "Ćao",
    "a`b",  # the backtick is not in GSM 03.38
    "curly {x} [y] ~ | ^ \\ €",  # two septets each
    "tab\there",
    "new\nline",
    *("A" * n for n in (70, 153, 159, 160, 161, 305, 306, 307, 459, 460, 1000)),
    *("A" * n + "Ć" for n in (60, 69, 70, 133, 134)),
]


def test_the_parts_sql_counts_plain_texts_as_sms_does_and_leaves_the_rest(
    system: Tidings,
) -> None:
    dialect = system.db.dialect
    expression, patterns = _parts(dialect, "m.t")
    with system.db.read() as conn:
        for value in TEXTS:
            found = conn.exec_driver_sql(
                f"SELECT {expression} FROM (SELECT CAST({param(dialect)} AS TEXT) AS t) AS m",
                (*patterns, value),
            ).scalar()
            plain = value.isascii() and value.isprintable() and not set(value) & set("`^{}~|[]\\")
            if plain:
                assert found == sms.parts(value), value
            else:
                assert found is None, value  # left to domain/sms.parts
