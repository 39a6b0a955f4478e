"""`sql_literal`: values written once into a statement read back as themselves."""

from __future__ import annotations

from tidings.bootstrap import Tidings
from tidings.store.dialect import sql_literal

VALUES = [None, 0, 1, -7, 2**62, "", "sms1", "it's", "''; DROP TABLE people; --", "Ćao ✓", "a\\b"]


def test_literals_read_back_as_the_values_on_both_databases(system: Tidings) -> None:
    with system.db.read() as conn:
        for value in VALUES:
            literal = sql_literal(value)
            assert literal is not None
            assert conn.exec_driver_sql(f"SELECT {literal}").scalar() == value, literal
        assert conn.exec_driver_sql("SELECT count(*) FROM people").scalar() is not None


def test_what_cannot_be_a_literal_is_refused() -> None:
    for value in (True, 1.5, "nul\x00", b"bytes", {"a": 1}):
        assert sql_literal(value) is None
