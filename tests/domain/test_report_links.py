"""The download links of emailed reports (domain/report_links.py): a token names one
report of one account until it expires, and any change to it, or another key, makes
it nobody's."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from tidings.domain.report_links import LIFETIME, MAX_LENGTH, ReportLink, decode, encode, issue

KEY = b"k" * 32
NOW = 1_767_571_200_000_000  # 2026-01-05T00:00:00Z


def test_a_token_names_its_account_and_report_for_seven_days() -> None:
    token = issue(7, 42, NOW, KEY)
    assert len(token) <= MAX_LENGTH
    assert decode(token, KEY, NOW) == ReportLink(7, 42, NOW + LIFETIME)
    assert decode(token, KEY, NOW + LIFETIME - 1) is not None
    assert decode(token, KEY, NOW + LIFETIME) is None
    assert decode(token, b"x" * 32, NOW) is None


@given(st.integers(min_value=0, max_value=39), st.integers(min_value=1, max_value=255))
def test_any_altered_byte_makes_it_nobodys(position: int, flip: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(issue(7, 42, NOW, KEY) + "=="))
    raw[position] ^= flip
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert decode(altered, KEY, NOW) is None


def test_malformed_tokens_are_nobodys() -> None:
    token = encode(ReportLink(1, 2, NOW + 10), KEY)
    for text in ("", "A", token + "A", token[:-1], token + "!", "é" * 10, "+/" * 27, "A" * 65):
        assert decode(text, KEY, NOW) is None
