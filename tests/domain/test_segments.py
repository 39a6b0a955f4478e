"""Segment rules, checked without a database: shapes, types, field paths, limits, and the
canonical JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.domain.errors import ProblemList
from tidings.domain.segment_values import OPS, Op
from tidings.domain.segments import (
    MAX_DEPTH,
    MAX_LEAVES,
    All,
    AnyOf,
    AttributeIs,
    Comparison,
    Count,
    DidEvent,
    HasTag,
    InCompany,
    Not,
    PropertyIs,
    Rule,
    RuleSchema,
    check_rule,
    check_segment_name,
    rule_json,
)
from tidings.domain.values import ValueType as V

SCHEMA = RuleSchema(
    attributes={
        "points": V.integer,
        "spend": V.decimal,
        "vip": V.boolean,
        "signup": V.date,
        "seen": V.datetime,
        "interests": V.list,
        "plan": V.text,
    },
    events={"Bought": {"amount": V.decimal, "sku": V.text}, "message.clicked": {"flow": V.integer}},
)


def check(raw: Any) -> tuple[Rule | None, dict[str, str]]:
    problems = ProblemList()
    rule = check_rule(raw, SCHEMA, problems)
    return rule, {p.field: p.message for p in problems.items}


def ok(raw: Any) -> Rule:
    rule, problems = check(raw)
    assert problems == {}
    assert rule is not None
    return rule


def fails(raw: Any) -> dict[str, str]:
    rule, problems = check(raw)
    assert rule is None
    assert problems
    return problems


def test_a_full_rule_becomes_nodes() -> None:
    rule = ok(
        {
            "all": [
                {"attribute": "country", "op": "eq", "value": "hr"},
                {"any": [{"tag": "vip"}, {"company": " Acme "}]},
                {"not": {"attribute": "points", "op": "in", "value": [1, 2, 1]}},
                {
                    "event": "Bought",
                    "count": {"op": "gte", "value": 2},
                    "within": "P1DT12H",
                    "where": [{"property": "amount", "op": "gt", "value": "9.5"}],
                },
            ]
        }
    )
    assert rule == All(
        (
            AttributeIs("country", True, Comparison(Op.eq, V.text, "HR")),
            AnyOf((HasTag("vip"), InCompany("Acme"))),
            Not(AttributeIs("points", False, Comparison(Op.in_, V.integer, (1, 2)))),
            DidEvent(
                "Bought",
                Count(Op.gte, 2),
                "P1DT12H",
                36 * 3600 * 1_000_000,
                (PropertyIs("amount", Comparison(Op.gt, V.decimal, 9.5)),),
            ),
        )
    )


def test_canonical_json_spells_out_defaults_and_normal_forms() -> None:
    raw = {
        "any": [
            {"event": "message.clicked"},
            {"attribute": "seen", "op": "lt", "value": "2026-01-05T10:00:00+01:00"},
            {"attribute": "gender", "op": "in", "value": ["FEMALE", "other"]},
            {"attribute": "city", "op": "exists"},
        ]
    }
    assert rule_json(ok(raw)) == {
        "any": [
            {"event": "message.clicked", "count": {"op": "gte", "value": 1}},
            {"attribute": "seen", "op": "lt", "value": "2026-01-05T09:00:00Z"},
            {"attribute": "gender", "op": "in", "value": ["female", "other"]},
            {"attribute": "city", "op": "exists"},
        ]
    }


def test_optional_event_fields_may_be_null() -> None:
    rule = ok({"event": "Bought", "count": None, "within": None, "where": None})
    assert rule == DidEvent("Bought")
    assert rule_json(rule) == {"event": "Bought", "count": {"op": "gte", "value": 1}}


def test_standard_values_are_normalized_only_when_compared_whole() -> None:
    starts = ok({"attribute": "timezone", "op": "startsWith", "value": "Europe/"})
    assert starts == AttributeIs("timezone", True, Comparison(Op.starts_with, V.text, "Europe/"))
    assert fails({"attribute": "timezone", "op": "eq", "value": "Europe/Nowhere"}) == {
        "rule.value": "'Europe/Nowhere' is not an IANA time zone such as Europe/Zagreb"
    }


@pytest.mark.parametrize("kind", list(V))
def test_every_type_refuses_the_ops_it_does_not_have(kind: V) -> None:
    name = {v: k for k, v in SCHEMA.attributes.items()}[kind]
    for op in Op:
        if op in OPS[kind]:
            continue
        problems = fails({"attribute": name, "op": op.value, "value": 1})
        assert list(problems) == ["rule.op"]
        assert f"does not apply to a {kind.value}" in problems["rule.op"]


VALUES: list[tuple[str, Any, str]] = [
    ("points", "many", "must be a number"),
    ("points", 2.5, "must be a whole number"),
    ("points", -(2**63), "must fit in 64 bits"),
    ("spend", True, "must be a number"),
    ("spend", float("inf"), "must be a finite number within ±9.2e18"),
    ("vip", 1, "must be true or false"),
    ("signup", "2026-02-30", "must be a date such as 2026-01-31"),
    ("seen", "2026-01-05T10:00:00", "must be an instant with offset such as 2026-01-31T09:00:00Z"),
    ("plan", ["gold"], "must be a text"),
    ("plan", "a\udcff", "must be valid Unicode text"),
    ("birthDate", "yesterday", "must be a date such as 2026-01-31"),
]


@pytest.mark.parametrize(("attribute", "value", "message"), VALUES)
def test_values_must_have_the_attribute_type(attribute: str, value: Any, message: str) -> None:
    op = "eq" if attribute in ("vip", "plan") else "gt"
    assert fails({"attribute": attribute, "op": op, "value": value}) == {"rule.value": message}


def test_field_paths_point_into_the_tree() -> None:
    problems = fails(
        {
            "all": [
                {"tag": "ok"},
                {"any": [{"attribute": "points", "op": "like", "value": 1}]},
                {
                    "not": {
                        "event": "Bought",
                        "where": [{"property": "sku", "op": "gt", "value": "a"}],
                    }
                },
                {"event": "Bought", "count": {"op": "gte", "value": 1.5}, "within": "soon"},
                {"attribute": "points", "op": "in", "value": [1, "x", 3]},
                {"attribute": "nope", "op": "eq", "value": 1},
            ]
        }
    )
    assert set(problems) == {
        "rule.all.1.any.0.op",
        "rule.all.2.not.where.0.op",
        "rule.all.3.count.value",
        "rule.all.3.within",
        "rule.all.4.value.1",
        "rule.all.5.attribute",
    }
    assert problems["rule.all.1.any.0.op"].startswith("unknown op 'like': use one of eq, ne, gt")


def test_depth_and_size_limits() -> None:
    rule: dict[str, Any] = {"tag": "a"}
    for _ in range(MAX_DEPTH):
        rule = {"not": rule}
    ok(rule)
    assert list(fails({"all": [rule]})) == ["rule.all.0" + ".not" * (MAX_DEPTH - 1)]

    leaves = [{"tag": str(i)} for i in range(MAX_LEAVES)]
    ok({"all": leaves})
    assert list(fails({"all": [*leaves, {"tag": "one more"}]})) == ["rule.all"]
    half = [{"tag": str(i)} for i in range(MAX_LEAVES // 2 + 1)]
    assert list(fails({"any": [{"all": half}, {"all": half}]})) == ["rule"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "rule"),
        ({}, "rule"),
        ({"tag": "a", "event": "Bought"}, "rule"),
        ({"any": []}, "rule.any"),
        ({"all": "x"}, "rule.all"),
        ({"tag": "a", "op": "eq"}, "rule.op"),
        ({"tag": " "}, "rule.tag"),
        ({"company": "x" * 256}, "rule.company"),
        ({"event": "Sold"}, "rule.event"),
        ({"event": "Bought", "count": {"op": "gte"}}, "rule.count"),
        ({"event": "Bought", "count": {"op": "contains", "value": 1}}, "rule.count.op"),
        ({"event": "Bought", "count": {"op": "gte", "value": 10**7}}, "rule.count.value"),
        ({"event": "Bought", "within": "P3661D"}, "rule.within"),
        ({"event": "Bought", "where": [5]}, "rule.where.0"),
        ({"event": "Bought", "where": {}}, "rule.where"),
        ({"event": "Bought", "where": [{"property": "sku"}]}, "rule.where.0.op"),
        (
            {"event": "Bought", "where": [{"property": "x", "op": "eq", "value": 1}]},
            "rule.where.0.property",
        ),
        ({"attribute": "plan", "op": "notExists", "value": None}, "rule.value"),
        ({"attribute": "plan", "op": "in", "value": ["a"] * 1001}, "rule.value"),
        ({"attribute": "interests", "op": "contains", "value": None}, "rule.value"),
        ({"attribute": "interests", "op": "contains", "value": {"a": 1}}, "rule.value"),
    ],
)
def test_shapes(raw: Any, field: str) -> None:
    assert field in fails(raw)


def test_segment_names() -> None:
    assert check_segment_name("  VIPs ") == "VIPs"
    for bad in ("", "  ", "x" * 256, "a\x00"):
        with pytest.raises(ValueError):
            check_segment_name(bad)


# Canonical JSON is a fixed point: checking it again gives the same rule.
_leaf = st.one_of(
    st.builds(lambda t: {"tag": t}, st.text(min_size=1, max_size=5).filter(str.strip)),
    st.builds(
        lambda op, v: {"attribute": "points", "op": op, "value": v},
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.integers(-(10**12), 10**12),
    ),
    st.builds(
        lambda op, n, within: {
            "event": "Bought",
            "count": {"op": op, "value": n},
            **({"within": within} if within else {}),
        },
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.integers(0, 100),
        st.sampled_from([None, "P1D", "PT5M", "P2W"]),
    ),
    st.builds(
        lambda v: {"attribute": "seen", "op": "gte", "value": v},
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    ),
)
_rules = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=12,
)


@given(_rules)
def test_canonical_json_checks_to_the_same_rule(raw: dict[str, Any]) -> None:
    rule, problems = check(raw)
    if rule is None:  # deeper than allowed, or a text hypothesis made unstorable
        assert problems
        return
    again = ok(rule_json(rule))
    assert again == rule
    assert rule_json(again) == rule_json(rule)
