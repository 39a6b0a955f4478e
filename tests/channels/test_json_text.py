"""The providers' and call_api's JSON parser: fast, strict, and exact on long integers."""

from __future__ import annotations

import pytest

from tidings.channels.json_text import loads


def test_answers_parse_as_the_standard_library_would() -> None:
    assert loads(b'{"a": 1, "b": [1.5, "x", null, true], "c": "\\u00e9"}') == {
        "a": 1,
        "b": [1.5, "x", None, True],
        "c": "é",
    }
    assert loads('{"messageId": "42"}') == {"messageId": "42"}


def test_an_integer_past_64_bits_stays_exact() -> None:
    value = loads(b'{"orderId": 123456789012345678901234567}')["orderId"]
    assert value == 123456789012345678901234567
    assert isinstance(value, int)


@pytest.mark.parametrize("body", [b'{"x": NaN}', b'{"x": Infinity}', b"{", b"", b"[" * 5000])
def test_what_is_not_json_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        loads(body)
