"""SMS encoding and parts: the GSM 03.38 table, UCS-2, and the split into parts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.sms import (
    GSM_BASIC,
    GSM_EXTENSION,
    GSM_PART,
    GSM_SINGLE,
    UCS2_PART,
    UCS2_SINGLE,
    encoding,
    parts,
    units,
)

gsm_basic = st.text(alphabet=sorted(GSM_BASIC), max_size=700)
gsm_any = st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=700)
not_gsm = st.characters(exclude_characters=GSM_BASIC | GSM_EXTENSION, exclude_categories=["Cs"])
ucs2 = st.builds(
    lambda head, odd, tail: head + odd + tail,
    st.text(max_size=300, alphabet=st.characters(exclude_categories=["Cs"])),
    not_gsm,
    st.text(max_size=300, alphabet=st.characters(exclude_categories=["Cs"])),
)


@pytest.mark.parametrize(
    ("text", "kind", "length", "count"),
    [
        ("", "GSM-7", 0, 1),
        ("Hi Ana, your cart is waiting", "GSM-7", 28, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("{x}", "GSM-7", 5, 1),
        ("Ćao Ana", "UCS-2", 7, 1),
        ("Ć" * 70, "UCS-2", 70, 1),
        ("Ć" * 71, "UCS-2", 71, 2),
        ("Ć" * 134, "UCS-2", 134, 2),
        ("Ć" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
        ("Grüße aus Zürich", "GSM-7", 16, 1),  # ü and ß are in the GSM table
        ("Ça va? ç", "UCS-2", 8, 1),  # Ç is, ç is not
    ],
)
def test_known_texts(text: str, kind: str, length: int, count: int) -> None:
    assert encoding(text) == kind
    assert units(text) == length
    assert parts(text) == count


def test_escape_sequences_are_never_split_between_parts() -> None:
    # 152 plain characters then a euro sign: the escape would be the 153rd septet and the
    # sign the 154th, so the sign moves whole into the second part.
    text = "a" * 152 + "€" + "a" * 10
    assert units(text) == 164
    assert parts(text) == 2
    text = "a" * 152 + "€" * 77  # 152 + 154 = 306 septets: two parts by count, not by packing
    assert units(text) == 306
    assert parts(text) == 3


def test_surrogate_pairs_are_never_split_between_parts() -> None:
    text = "Ć" * 66 + "😀" + "Ć" * 67  # 66 + 2 + 67 = 135 units
    assert parts(text) == 3
    text = "Ć" * 65 + "😀" + "Ć" * 67  # the emoji fits the first part exactly
    assert parts(text) == 2


@settings(max_examples=300)
@given(gsm_basic)
def test_plain_gsm_counts_by_arithmetic(text: str) -> None:
    assert encoding(text) == "GSM-7"
    assert units(text) == len(text)
    expected = 1 if len(text) <= GSM_SINGLE else math.ceil(len(text) / GSM_PART)
    assert parts(text) == expected


@settings(max_examples=300)
@given(gsm_any)
def test_extension_characters_count_twice(text: str) -> None:
    assert encoding(text) == "GSM-7"
    doubles = sum(1 for char in text if char in GSM_EXTENSION)
    assert units(text) == len(text) + doubles
    size = units(text)
    if size <= GSM_SINGLE:
        assert parts(text) == 1
    else:
        # Packing may waste at most one septet per part.
        assert math.ceil(size / GSM_PART) <= parts(text) <= math.ceil(size / (GSM_PART - 1))


@settings(max_examples=300)
@given(ucs2)
def test_any_other_character_makes_the_text_ucs2(text: str) -> None:
    assert encoding(text) == "UCS-2"
    size = len(text.encode("utf-16-le")) // 2
    assert units(text) == size
    if size <= UCS2_SINGLE:
        assert parts(text) == 1
    else:
        assert math.ceil(size / UCS2_PART) <= parts(text) <= math.ceil(size / (UCS2_PART - 1))


@settings(max_examples=200)
@given(st.text(max_size=400, alphabet=st.characters(exclude_categories=["Cs"])))
def test_appending_never_costs_fewer_parts(text: str) -> None:
    assert parts(text) >= 1
    assert parts(text + "a") >= parts(text)
