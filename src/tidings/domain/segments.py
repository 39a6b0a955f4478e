"""Audience segments: a saved rule over person attributes, tags, companies and event history.

A rule is a condition tree. `check_rule` checks the JSON a client wrote against the
account's declared attribute and event types and returns frozen nodes, which
`store/segment_sql.py` compiles to one SQL condition; `rule_json` gives the canonical JSON
back (values normalized, the default event count spelled out).

    {"all": [cond, ...]} | {"any": [cond, ...]} | {"not": cond} | leaf
    {"attribute": "country", "op": "eq", "value": "HR"}
    {"tag": "vip"}            {"company": "Acme"}
    {"event": "PurchaseFinished", "count": {"op": "gte", "value": 2}, "within": "P30D",
     "where": [{"property": "amount", "op": "gt", "value": 10}]}

Every leaf is true or false for every person, never "unknown": an absent value fails
every test but `ne` and `notExists`, so `{"not": c}` is exactly everyone `c` leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

from tidings.domain.durations import MICROS, parse_duration
from tidings.domain.errors import ProblemList
from tidings.domain.people import STANDARD_TYPES, check_standard
from tidings.domain.segment_values import (
    COUNT_OPS,
    Comparison,
    Op,
    check_test,
    clean_text,
    printable,
)
from tidings.domain.values import ValueType

__all__ = [
    "STANDARD_FIELDS",
    "All",
    "AnyOf",
    "AttributeIs",
    "Comparison",
    "Count",
    "DidEvent",
    "HasTag",
    "InCompany",
    "Not",
    "Op",
    "PropertyIs",
    "Rule",
    "RuleSchema",
    "check_rule",
    "check_segment_name",
    "rule_json",
]

MAX_DEPTH = 10  # nested all/any/not groups
MAX_LEAVES = 100
MAX_WHERE = 20
MAX_COUNT = 1_000_000
MAX_NAME = 255
MAX_WITHIN_DAYS = 3660

# The person's standard fields a rule may name, with their types; every other attribute
# name must be one of the account's declared custom attributes.
STANDARD_FIELDS: dict[str, ValueType] = {"externalId": ValueType.text, **STANDARD_TYPES}


@dataclass(frozen=True)
class RuleSchema:
    """What a rule may name besides the standard fields: the account's custom attributes
    and its events (standard and defined), each with their types."""

    attributes: Mapping[str, ValueType]
    events: Mapping[str, Mapping[str, ValueType]]


class Group(StrEnum):
    all = "all"
    any = "any"


@dataclass(frozen=True)
class All:
    conditions: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    condition: Rule


@dataclass(frozen=True)
class AttributeIs:
    attribute: str
    standard: bool
    test: Comparison


@dataclass(frozen=True)
class HasTag:
    tag: str


@dataclass(frozen=True)
class InCompany:
    company: str


@dataclass(frozen=True)
class PropertyIs:
    property: str
    test: Comparison


@dataclass(frozen=True)
class Count:
    op: Op
    value: int

    def json(self) -> dict[str, Any]:
        return {"op": self.op.value, "value": self.value}


@dataclass(frozen=True)
class DidEvent:
    """The person has events `event` (matching every `where`) whose number, among those
    at or after `now - within` (all of them without `within`), passes `count`."""

    event: str
    count: Count = Count(Op.gte, 1)
    within: str | None = None
    within_micros: int | None = None
    where: tuple[PropertyIs, ...] = ()


Rule = All | AnyOf | Not | AttributeIs | HasTag | InCompany | DidEvent

_FIELDS: dict[str, frozenset[str]] = {
    "all": frozenset({"all"}),
    "any": frozenset({"any"}),
    "not": frozenset({"not"}),
    "attribute": frozenset({"attribute", "op", "value"}),
    "tag": frozenset({"tag"}),
    "company": frozenset({"company"}),
    "event": frozenset({"event", "count", "within", "where"}),
}
_SHAPES = "all, any, not, attribute, tag, company or event"


def check_rule(
    raw: Any, schema: RuleSchema, problems: ProblemList, path: str = "rule"
) -> Rule | None:
    """The checked rule, or None with every fault in `problems` (field paths start at
    `path`). Values of standard attributes compared whole (`eq`, `ne`, `in`) take their
    stored form, so `"hr"` finds country `HR`."""
    checker = _Checker(schema, problems)
    rule = checker.node(raw, path, 0)
    if checker.leaves > MAX_LEAVES:
        problems.add(path, f"at most {MAX_LEAVES} conditions in one rule ({checker.leaves} given)")
        return None
    return rule


def check_segment_name(name: str) -> str:
    stripped = clean_text(name).strip()
    if not stripped:
        raise ValueError("must not be blank")
    if len(stripped) > MAX_NAME:
        raise ValueError(f"must be at most {MAX_NAME} characters")
    return stripped


class _Checker:
    def __init__(self, schema: RuleSchema, problems: ProblemList) -> None:
        self.schema = schema
        self.problems = problems
        self.leaves = 0

    def node(self, raw: Any, path: str, groups: int) -> Rule | None:
        if not isinstance(raw, dict):
            self.problems.add(path, f"must be a condition: an object with {_SHAPES}")
            return None
        shapes = [k for k in _FIELDS if k in raw]
        if len(shapes) != 1:
            self.problems.add(path, f"must hold exactly one of {_SHAPES}")
            return None
        shape = shapes[0]
        unknown = [k for k in raw if k not in _FIELDS[shape]]
        for key in unknown:
            self.problems.add(f"{path}.{printable(str(key))}", "is not a known field")
        if unknown:
            return None
        if shape in ("all", "any", "not"):
            if groups >= MAX_DEPTH:
                self.problems.add(path, f"conditions nest deeper than {MAX_DEPTH} levels")
                return None
            if shape == "not":
                inner = self.node(raw["not"], f"{path}.not", groups + 1)
                return None if inner is None else Not(inner)
            return self.group(Group(shape), raw[shape], f"{path}.{shape}", groups + 1)
        self.leaves += 1
        if shape == "attribute":
            return self.attribute(raw, path)
        if shape == "event":
            return self.event(raw, path)
        name = self.name(raw[shape], f"{path}.{shape}")
        if name is None:
            return None
        return HasTag(name) if shape == "tag" else InCompany(name)

    def group(self, kind: Group, raw: Any, path: str, groups: int) -> Rule | None:
        if not isinstance(raw, list):
            self.problems.add(path, "must be a list of conditions")
            return None
        if kind is Group.any and not raw:
            self.problems.add(path, "must hold at least one condition")
            return None
        if len(raw) > MAX_LEAVES:
            self.problems.add(path, f"at most {MAX_LEAVES} conditions")
            return None
        checked = [self.node(item, f"{path}.{i}", groups) for i, item in enumerate(raw)]
        items = tuple(c for c in checked if c is not None)
        if len(items) != len(checked):
            return None
        return All(items) if kind is Group.all else AnyOf(items)

    def name(self, raw: Any, path: str) -> str | None:
        try:
            if not isinstance(raw, str):
                raise ValueError("must be a name")
            return check_segment_name(raw)
        except ValueError as exc:
            self.problems.add(path, str(exc))
            return None

    def attribute(self, raw: dict[str, Any], path: str) -> Rule | None:
        name = raw["attribute"]
        standard = isinstance(name, str) and name in STANDARD_FIELDS
        kind = None
        if isinstance(name, str):
            kind = STANDARD_FIELDS[name] if standard else self.schema.attributes.get(name)
        if kind is None:
            shown = printable(name) if isinstance(name, str) else name
            self.problems.add(
                f"{path}.attribute",
                f"unknown attribute {shown!r}: use a standard attribute or declare it first",
            )
            return None
        whole = None
        if standard:

            def whole(value: Any) -> Any:
                return check_standard(name, value)

        test = check_test(raw, kind, path, self.problems, whole)
        return None if test is None else AttributeIs(name, standard, test)

    def event(self, raw: dict[str, Any], path: str) -> Rule | None:
        name = raw["event"]
        properties = self.schema.events.get(name) if isinstance(name, str) else None
        if properties is None:
            shown = printable(name) if isinstance(name, str) else name
            self.problems.add(
                f"{path}.event", f"unknown event {shown!r}: define it first at /event-definitions"
            )
            return None
        before = len(self.problems.items)
        # Optional fields: absent and null alike mean the default.
        count = None if raw.get("count") is None else self.count(raw["count"], f"{path}.count")
        within = _within(raw.get("within"), f"{path}.within", self.problems)
        where = self.where(raw.get("where"), f"{path}.where", properties)
        if len(self.problems.items) != before:
            return None
        return DidEvent(
            name,
            count or Count(Op.gte, 1),
            None if within is None else raw["within"],
            within,
            where,
        )

    def count(self, raw: Any, path: str) -> Count | None:
        if not isinstance(raw, dict) or set(raw) != {"op", "value"}:
            self.problems.add(
                path, 'must be {"op": ..., "value": n}, e.g. {"op": "gte", "value": 2}'
            )
            return None
        op = raw["op"]
        if op not in [o.value for o in COUNT_OPS]:
            ops = ", ".join(o.value for o in COUNT_OPS)
            self.problems.add(f"{path}.op", f"must be one of {ops}")
            return None
        value = raw["value"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            self.problems.add(f"{path}.value", f"must be a whole number from 0 to {MAX_COUNT}")
            return None
        return Count(Op(op), value)

    def where(
        self, raw: Any, path: str, properties: Mapping[str, ValueType]
    ) -> tuple[PropertyIs, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problems.add(path, "must be a list of property conditions")
            return ()
        if len(raw) > MAX_WHERE:
            self.problems.add(path, f"at most {MAX_WHERE} property conditions")
            return ()
        out: list[PropertyIs] = []
        for i, item in enumerate(raw):
            at = f"{path}.{i}"
            if not isinstance(item, dict) or "property" not in item:
                self.problems.add(at, 'must be {"property": name, "op": ..., "value": ...}')
                continue
            unknown = [k for k in item if k not in ("property", "op", "value")]
            for key in unknown:
                self.problems.add(f"{at}.{printable(str(key))}", "is not a known field")
            name = item["property"]
            kind = properties.get(name) if isinstance(name, str) else None
            if kind is None:
                shown = printable(name) if isinstance(name, str) else name
                self.problems.add(f"{at}.property", f"{shown!r} is not a property of this event")
                continue
            test = check_test(item, kind, at, self.problems, None)
            if test is not None and not unknown:
                out.append(PropertyIs(name, test))
        return tuple(out)


def _within(raw: Any, path: str, problems: ProblemList) -> int | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError("must be an ISO 8601 duration such as P30D or PT12H")
        delta = parse_duration(raw)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None
    if delta.total_seconds() <= 0 or delta.days > MAX_WITHIN_DAYS:
        problems.add(path, f"must be longer than zero and at most P{MAX_WITHIN_DAYS}D")
        return None
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds


def rule_json(rule: Rule) -> dict[str, Any]:
    """The canonical JSON of a checked rule (what the store keeps and the API answers)."""
    match rule:
        case All(conditions):
            return {"all": [rule_json(c) for c in conditions]}
        case AnyOf(conditions):
            return {"any": [rule_json(c) for c in conditions]}
        case Not(condition):
            return {"not": rule_json(condition)}
        case AttributeIs(attribute, _standard, test):
            return {"attribute": attribute, **test.json()}
        case HasTag(tag):
            return {"tag": tag}
        case InCompany(company):
            return {"company": company}
        case DidEvent(event, count, within, _micros, where):
            out: dict[str, Any] = {"event": event, "count": count.json()}
            if within is not None:
                out["within"] = within
            if where:
                out["where"] = [{"property": p.property, **p.test.json()} for p in where]
            return out
        case _:
            assert_never(rule)
