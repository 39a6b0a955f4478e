"""Person and company checks, and how changes fold into a profile: pure, milliseconds."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.errors import ProblemList
from tidings.domain.people import (
    PersonChanges,
    check_attribute_name,
    check_company,
    check_json,
    check_name,
    check_person,
    check_standard,
    check_text,
    combine,
    merge_attributes,
    normalize_email,
    normalize_phone,
)
from tidings.domain.values import ValueType

TYPES = {"points": ValueType.integer, "plan": ValueType.text, "history": ValueType.list}


def checked(data: dict[str, Any], prefix: str = "") -> tuple[PersonChanges, list[str]]:
    problems = ProblemList()
    changes = check_person(data, TYPES, problems, prefix)
    return changes, [p.field for p in problems.items]


def test_contacts_are_normalized_and_deduplicated() -> None:
    changes, fields = checked(
        {
            "phones": ["+385 91 123 4567", "+385911234567", "+1 (415) 555-0100"],
            "emails": ["Ana@EXAMPLE.com", "Ana@example.com"],
        }
    )
    assert fields == []
    assert changes.phones == ["+385911234567", "+14155550100"]
    assert changes.emails == ["Ana@example.com"]


def test_absent_lists_are_left_alone_and_null_lists_clear() -> None:
    changes, _ = checked({"phones": None, "tags": []})
    assert changes.phones == []
    assert changes.tags == []
    assert changes.emails is None
    assert changes.companies is None


def test_every_problem_is_named_with_the_prefix() -> None:
    _, fields = checked(
        {
            "country": "Croatia",
            "gender": "x",
            "phones": ["+385911234567", "0911234567"],
            "tags": ["ok", " "],
            "attributes": {"points": "many", "unknown": 1, "plan": "a\x00"},
        },
        prefix="people.3.",
    )
    assert sorted(fields) == [
        "people.3.attributes.plan",
        "people.3.attributes.points",
        "people.3.attributes.unknown",
        "people.3.country",
        "people.3.gender",
        "people.3.phones.1",
        "people.3.tags.1",
    ]


@pytest.mark.parametrize(
    ("name", "raw", "stored"),
    [
        ("country", "hr", "HR"),
        ("gender", "Female", "female"),
        ("birthDate", "1990-04-30", "1990-04-30"),
        ("timezone", "Europe/Zagreb", "Europe/Zagreb"),
        ("preferredLanguage", "pt-BR", "pt-BR"),
        ("firstName", None, None),
    ],
)
def test_standard_attributes_are_stored_in_one_form(name: str, raw: Any, stored: Any) -> None:
    assert check_standard(name, raw) == stored


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("country", "XX"),
        ("birthDate", "1990-02-30"),
        ("timezone", "Nowhere/City"),
        ("timezone", "../etc/passwd"),
        ("preferredLanguage", "en" + "-abcdefgh" * 5),
        ("firstName", "x" * 256),
        ("city", 7),
    ],
)
def test_bad_standard_attributes_say_why(name: str, raw: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        check_standard(name, raw)


def test_phones_need_their_country_code() -> None:
    with pytest.raises(ValueError, match="international"):
        normalize_phone("091 123 4567")
    with pytest.raises(ValueError, match="not a valid"):
        normalize_phone("+385 91 12")
    with pytest.raises(ValueError, match="not a valid email"):
        normalize_email("ana@")


def test_attributes_merge_key_by_key_and_none_removes() -> None:
    merged = merge_attributes({"a": 1, "b": 2}, {"b": None, "c": 3, "z": None})
    assert merged == {"a": 1, "c": 3}


def test_combine_is_applying_one_change_after_the_other() -> None:
    first, _ = checked({"firstName": "Ana", "city": "Split", "tags": ["a"], "attributes": {}})
    second, _ = checked({"firstName": "Anna", "attributes": {"points": 3, "plan": "x"}})
    third, _ = checked({"phones": ["+385911234567"], "attributes": {"plan": None}})
    folded = combine(combine(first, second), third)
    assert folded.standard == {"firstName": "Anna", "city": "Split"}
    assert folded.tags == ["a"]
    assert folded.phones == ["+385911234567"]
    assert merge_attributes({"plan": "old", "kept": 1}, folded.attributes) == {
        "kept": 1,
        "points": 3,
    }


@pytest.mark.parametrize(
    "value",
    [
        2**63,
        -(2**63) - 1,
        float("nan"),
        float("inf"),
        1e19,
        "a\x00",
        "\ud800",
        [[[[[[[[[[1]]]]]]]]]],
        {"k": object()},
    ],
)
def test_json_values_that_no_client_or_database_can_hold(value: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        check_json(value)


def test_json_values_that_are_fine() -> None:
    for value in [None, True, 2**63 - 1, 1.5e18, "Ana", ["a", {"b": [1, 2.5]}]]:
        check_json(value)


def test_names_and_texts() -> None:
    assert check_name("  vip ") == "vip"
    for bad in ["", "   ", "x" * 256, "a\x00"]:
        with pytest.raises(ValueError, match=r"."):
            check_name(bad)
    assert check_text("Željko") == "Željko"
    check_attribute_name("loyalty_points2")
    for bad in ["2x", "has space", "firstName", "x" * 65]:
        with pytest.raises(ValueError, match=r"."):
            check_attribute_name(bad)


def test_company_checks() -> None:
    problems = ProblemList()
    changes = check_company(
        {"name": " Acme ", "domain": "Acme.COM", "attributes": {"plan": "gold", "seats": None}},
        problems,
    )
    assert not problems
    assert (changes.name, changes.domain, changes.domain_given) == ("Acme", "acme.com", True)
    assert changes.attributes == {"plan": "gold", "seats": None}
    assert check_company({}, problems).domain_given is False

    bad = ProblemList()
    check_company(
        {"name": "", "domain": "http://acme.com", "attributes": {"bad key": 1, "n": 2**64}}, bad
    )
    assert sorted(p.field for p in bad.items) == [
        "attributes.bad key",
        "attributes.n",
        "domain",
        "name",
    ]
