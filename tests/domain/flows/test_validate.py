"""validate(): a clean bill for valid documents, and one invalid document per problem
kind, each problem naming the right element and field.

Needs `tidings.domain.expressions` (every test here compiles expressions)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings

from tidings.domain.errors import Problem
from tidings.domain.expressions import ExpressionError, Scope, compile_expression
from tidings.domain.flows import ValidationContext, parse_document, validate, with_exits
from tidings.domain.values import ValueType

from .examples import CONTEXT, ENTRIES, design_example, element, every_element
from .test_canonical import documents

Data = dict[str, Any]


def problems(data: Data, ctx: ValidationContext = CONTEXT) -> list[Problem]:
    return validate(parse_document(data), ctx)


def test_design_example_is_valid() -> None:
    ctx = ValidationContext(
        events={"CartAbandoned": {"cartValue": ValueType.decimal}, "PurchaseFinished": {}},
    )
    assert problems(design_example(), ctx) == []


def test_every_element_type_is_valid() -> None:
    # On the example's event entry, evaluate_inbound has no inbound message to read
    assert [(p.element, p.field) for p in problems(every_element())] == [("inb1", "")]
    data = every_element()
    data["entry"] = ENTRIES["inbound"]
    data["variables"] = [v for v in data["variables"] if v["type"] != "list"]  # event-only
    assert problems(data) == []
    data["entry"] = {"type": "event", "event": "message.received"}
    assert problems(data) == []


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_every_entry_type_is_valid(kind: str) -> None:
    data = design_example()
    data["entry"] = ENTRIES[kind]
    data["variables"].append({"name": "reply", "type": "text"})
    data["entry"].pop("where", None) if kind != "event" else None
    assert problems(data) == []


@pytest.mark.parametrize(
    "wait",
    [{"duration": "PT2H"}, {"until": 'dateAdd(now(), 1, "day")'}, {"at": "09:00"}],
)
def test_each_kind_of_wait_is_valid(wait: Data) -> None:
    data = design_example()
    data["elements"].insert(1, {"id": "w", "type": "wait", **wait, "next": "wait1"})
    element(data, "sms1")["next"] = "w"
    assert problems(data) == []


def test_wait_for_event_on_a_send_element_is_valid() -> None:
    data = design_example()
    wait = element(data, "wait1")
    del wait["event"]
    wait["element"] = "sms1"
    wait["where"] = 'event.channel == "sms"'
    assert problems(data) == []


# Each case: what to change in DESIGN.md's example, then the element and field expected.
Change = Callable[[Data], None]


def _set(path: str, value: Any) -> Change:
    """Set a dotted path; a path starting with an element id changes that element."""

    def change(data: Data) -> None:
        head, *rest = path.split(".")
        target: Any
        if head in {e["id"] for e in data["elements"]}:
            target = element(data, head)
        else:
            target, rest = data, [head, *rest]
        for key in rest[:-1]:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        last: Any = int(rest[-1]) if isinstance(target, list) else rest[-1]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


def _add(*elements: Data, after: str = "sms1") -> Change:
    """Insert elements after `after`, which then leads to the first of them; the last
    leads to where `after` led."""

    def change(data: Data) -> None:
        before = element(data, after)
        added = [dict(e) for e in elements]
        for item, following in itertools.pairwise(added):
            item.setdefault("next", following["id"])
        added[-1].setdefault("next", before.get("next"))
        before["next"] = added[0]["id"]
        index = data["elements"].index(before) + 1
        data["elements"][index:index] = added

    return change


def _all(*changes: Change) -> Change:
    def change(data: Data) -> None:
        for c in changes:
            c(data)

    return change


CASES: list[tuple[str, Change, str | None, str, str]] = [
    # (name, change, element, field, a word of the message)
    ("missing flow name", _set("name", "  "), None, "name", "name"),
    ("no entry", _set("entry", None), None, "entry", "enter"),
    ("no elements", _set("elements", []), None, "elements", "element"),
    ("bad flow time zone", _set("timezone", "Mars/Base"), None, "timezone", "time zone"),
    ("sms without sender", _set("sms1.from", _DELETE), "sms1", "from", "sender"),
    ("sms without text", _set("sms1.text", ""), "sms1", "text", "text"),
    ("email without subject", _set("email1.subject", _DELETE), "email1", "subject", "subject"),
    ("email without content", _set("email1.html", _DELETE), "email1", "html", "content"),
    (
        "whatsapp without content",
        _add({"id": "wa", "type": "send_whatsapp", "from": "385991"}),
        "wa",
        "text",
        "text",
    ),
    (
        "failover attempt without text",
        _add(
            {
                "id": "fo",
                "type": "failover",
                "attempts": [
                    {"type": "send_sms", "from": "ShopCo"},
                    {"type": "send_email", "from": "a@example.com", "subject": "s", "html": "h"},
                ],
            }
        ),
        "fo",
        "attempts.0.text",
        "text",
    ),
    (
        "failover with one attempt",
        _add(
            {
                "id": "fo",
                "type": "failover",
                "attempts": [{"type": "send_sms", "from": "ShopCo", "text": "x"}],
            }
        ),
        "fo",
        "attempts",
        "two",
    ),
    ("empty entry condition", _set("entry.where", " "), None, "entry.where", "condition"),
    (
        "empty segment condition",
        _add({"id": "seg", "type": "segment", "branches": [{"name": "vip", "when": ""}]}),
        "seg",
        "branches.0.when",
        "condition",
    ),
    ("unknown next", _set("sms1.next", "nowhere"), "sms1", "next", "nowhere"),
    (
        "unknown next of an outcome",
        _set("wait1.next", {"event": "thanks", "timeout": "gone"}),
        "wait1",
        "next.timeout",
        "gone",
    ),
    (
        "outcome not allowed",
        _set("wait1.next", {"event": "thanks", "clicked": "email1"}),
        "wait1",
        "next.clicked",
        "timeout",
    ),
    ("next map on a one-way element", _set("sms1.next", {"a": "wait1"}), "sms1", "next", "one"),
    ("exit with next", _add({"id": "out", "type": "exit", "next": "wait1"}), "out", "next", "exit"),
    ("unreachable element", _set("sms1.next", "email1"), "wait1", "", "path"),
    ("unknown entry next", _set("entry.next", "nope"), None, "entry.next", "nope"),
    ("unknown entry event", _set("entry.event", "CartAbandonded"), None, "entry.event", "event"),
    ("unknown awaited event", _set("wait1.event", "Bought"), "wait1", "event", "Bought"),
    (
        "unknown goal event",
        _set("settings.goal.event", "Nope"),
        None,
        "settings.goal.event",
        "Nope",
    ),
    (
        "unknown event property in a condition",
        _set("entry.where", "event.cartValu > 50"),
        None,
        "entry.where",
        "cartValu",
    ),
    (
        "unknown attribute",
        _set("thanks.set", {"shoeSize": "42"}),
        "thanks",
        "set.shoeSize",
        "shoeSize",
    ),
    (
        "unknown attribute in an expression",
        _add({"id": "seg", "type": "segment", "branches": [{"name": "a", "when": "person.vip"}]}),
        "seg",
        "branches.0.when",
        "vip",
    ),
    (
        "unknown variable assigned",
        _set("entry.assign", {"basket": "event.cartValue"}),
        None,
        "entry.assign.basket",
        "basket",
    ),
    (
        "unknown variable in a default",
        _set("variables.0.default", "basket + 1"),
        None,
        "variables.0.default",
        "basket",
    ),
    (
        "unknown segment",
        _set("entry", {"type": "audience", "segments": [99], "update": "realtime"}),
        None,
        "entry.segments.0",
        "99",
    ),
    (
        "unknown tag",
        _set("entry", {"type": "audience", "tags": ["gold"], "update": "realtime"}),
        None,
        "entry.tags.0",
        "gold",
    ),
    (
        "empty audience",
        _set("entry", {"type": "audience", "update": "realtime"}),
        None,
        "entry",
        "who",
    ),
    (
        "unknown catalog",
        _add({"id": "cat", "type": "catalog_lookup", "catalog": "shoes", "key": '"x"'}),
        "cat",
        "catalog",
        "shoes",
    ),
    (
        "unknown catalog column",
        _all(
            _set("variables", [{"name": "price", "type": "decimal"}]),
            _set("entry.assign", {}),
            _add(
                {
                    "id": "cat",
                    "type": "catalog_lookup",
                    "catalog": "products",
                    "key": '"x"',
                    "assign": {"price": "item.cost"},
                }
            ),
        ),
        "cat",
        "assign.price",
        "cost",
    ),
    ("unknown flow", _add({"id": "add", "type": "add_to_flow", "flow": 99}), "add", "flow", "99"),
    ("flow that ended", _add({"id": "add", "type": "add_to_flow", "flow": 8}), "add", "flow", "8"),
    (
        "flow adds to itself",
        _add({"id": "add", "type": "add_to_flow", "flow": 3}),
        "add",
        "flow",
        "itself",
    ),
    (
        "loop that never waits",
        _add(
            {"id": "a", "type": "update_variable", "set": {"cartValue": "cartValue + 1"}},
            {"id": "b", "type": "update_profile", "addTags": ["x"], "next": "a"},
        ),
        "a",
        "next",
        "loop",
    ),
    (
        "inbound keyword taken (any case)",
        _set(
            "entry",
            {"type": "inbound", "channel": "sms", "number": "+385991234567", "keyword": "stop"},
        ),
        None,
        "entry.keyword",
        "another active flow",
    ),
    (
        "inbound number taken whole",
        _set(
            "entry", {"type": "inbound", "channel": "viber", "number": "ShopCo", "keyword": "JOIN"}
        ),
        None,
        "entry.number",
        "every message",
    ),
    (
        "split not summing to 100",
        _add(
            {
                "id": "ab",
                "type": "split",
                "branches": [{"name": "A", "percent": 50}, {"name": "B", "percent": 40}],
            }
        ),
        "ab",
        "branches",
        "90",
    ),
    (
        "duplicate branch names",
        _add(
            {
                "id": "ab",
                "type": "split",
                "branches": [{"name": "A", "percent": 50}, {"name": "A", "percent": 50}],
            }
        ),
        "ab",
        "branches.1.name",
        "'A'",
    ),
    ("wait without time", _add({"id": "w", "type": "wait"}), "w", "duration", "how long"),
    (
        "wait with two times",
        _add({"id": "w", "type": "wait", "duration": "PT1H", "at": "09:00"}),
        "w",
        "at",
        "only one",
    ),
    ("wait at a bad time", _add({"id": "w", "type": "wait", "at": "9am"}), "w", "at", "09:00"),
    ("bad duration", _set("wait1.timeout", "1 day"), "wait1", "timeout", "ISO 8601"),
    ("wait for event without timeout", _set("wait1.timeout", _DELETE), "wait1", "timeout", "long"),
    (
        "bad reentry delay",
        _set("settings.reentry.delay", "P1M"),
        None,
        "settings.reentry.delay",
        "ISO 8601",
    ),
    (
        "bad instant",  # a wall time without offset is fine: the flow's zone reads it
        _set("settings.schedule.start", "2026-01-05 at nine"),
        None,
        "settings.schedule.start",
        "ISO 8601",
    ),
    (
        "schedule end before start",
        _set("settings.schedule", {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
        None,
        "settings.schedule.end",
        "after",
    ),
    (
        "reentry limit below one",
        _set("settings.reentry.limits.0.max", 0),
        None,
        "settings.reentry.limits.0.max",
        "at least 1",
    ),
    (
        "send window at a bad time",
        _set("settings.sendWindow.from", "25:00"),
        None,
        "settings.sendWindow.from",
        "time of day",
    ),
    (
        "send window in a bad zone",
        _set("settings.sendWindow.timezone", "Zagreb"),
        None,
        "settings.sendWindow.timezone",
        "zone",
    ),
    (
        "duplicate variable names",
        _set(
            "variables",
            [{"name": "cartValue", "type": "decimal"}, {"name": "cartValue", "type": "text"}],
        ),
        None,
        "variables.1.name",
        "cartValue",
    ),
    (
        "list variable with a default",
        _all(
            _set("variables.1", {"name": "items", "type": "list", "default": "[]"}),
            _set("entry.assign.items", "event.items"),
        ),
        None,
        "variables.1.default",
        "list",
    ),
    (
        "list variable not filled from an event",
        _set("variables.1", {"name": "items", "type": "list"}),
        None,
        "variables.1.type",
        "event",
    ),
    (
        "list variable set by update_variable",
        _all(
            _set("variables.1", {"name": "items", "type": "list"}),
            _set("entry.assign.items", "event.items"),
            _add({"id": "v", "type": "update_variable", "set": {"items": "items"}}),
        ),
        "v",
        "set.items",
        "list",
    ),
    (
        "reserved variable name",
        _set("variables.1", {"name": "person", "type": "text"}),
        None,
        "variables.1.name",
        "reserved",
    ),
    (
        "expression syntax error",
        _set("entry.where", "event.cartValue >"),
        None,
        "entry.where",
        "column",
    ),
    (
        "condition that is not true or false",
        _set("entry.where", "event.cartValue + 1"),
        None,
        "entry.where",
        "column",
    ),
    (
        "assignment of the wrong type",
        _set("entry.assign.cartValue", '"many"'),
        None,
        "entry.assign.cartValue",
        "column",
    ),
    ("liquid syntax error", _set("sms1.text", "Hi {{ person.firstName"), "sms1", "text", "line 1"),
    (
        "placeholder of an unknown attribute",
        _set("sms1.text", "Hi\n{{ person.firstNme }}"),
        "sms1",
        "text",
        "'firstNme' (line 2, column 4)",
    ),
    (
        "placeholder of an unknown variable",
        _set("email1.subject", "{{ cartValeu }}"),
        "email1",
        "subject",
        "cartValeu",
    ),
    (
        "placeholder of an unknown event property",
        _set("email1.html", "{{ event.total }}"),
        "email1",
        "html",
        "total",
    ),
    ("liquid unknown filter", _set("email1.html", "{{ x | shout }}"), "email1", "html", "shout"),
    ("liquid include", _set("email1.html", "{% include 'a' %}"), "email1", "html", "include"),
    (
        "wait for a non-send element",
        _all(_set("wait1.element", "thanks"), _set("wait1.event", _DELETE)),
        "wait1",
        "element",
        "thanks",
    ),
    (
        "bad inbound regex",
        _add({"id": "in", "type": "evaluate_inbound", "branches": [{"name": "y", "regex": "(("}]}),
        "in",
        "branches.0.regex",
        "regular expression",
    ),
    (
        "inbound regex too long",
        _add(
            {
                "id": "in",
                "type": "evaluate_inbound",
                "branches": [{"name": "y", "regex": "a" * 201}],
            }
        ),
        "in",
        "branches.0.regex",
        "longer than 200",
    ),
    (
        "inbound regex with a backreference",
        _add(
            {
                "id": "in",
                "type": "evaluate_inbound",
                "branches": [{"name": "y", "regex": "(a)\\1"}],
            }
        ),
        "in",
        "branches.0.regex",
        "backreferences",
    ),
    (
        "inbound keyword of two words",
        _add(
            {"id": "in", "type": "evaluate_inbound", "branches": [{"name": "y", "keyword": "a b"}]}
        ),
        "in",
        "branches.0.keyword",
        "one word",
    ),
    (
        "evaluate_inbound without an inbound entry",
        _add({"id": "in", "type": "evaluate_inbound", "branches": [{"name": "y", "keyword": "Y"}]}),
        "in",
        "",
        "inbound entry",
    ),
    (
        "call_api without url",
        _add({"id": "api", "type": "call_api"}),
        "api",
        "url",
        "URL",
    ),
    (
        "call_api with a bad url and retries",
        _add({"id": "api", "type": "call_api", "url": "ftp://x", "retries": 9, "timeout": "PT5M"}),
        "api",
        "retries",
        "0 and 5",
    ),
    (
        "notify without recipient",
        _add({"id": "n", "type": "notify", "channel": "sms", "from": "Ops", "text": "x"}),
        "n",
        "to",
        "who",
    ),
    (
        "sftp polled too often",
        _set("entry", {"type": "sftp", "connection": "c", "path": "/", "every": "PT1M"}),
        None,
        "entry.every",
        "5 minutes",
    ),
]


@pytest.mark.parametrize(
    ("change", "element_id", "field", "word"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_problem_names_element_and_field(
    change: Change, element_id: str | None, field: str, word: str
) -> None:
    data = design_example()
    data["variables"].append({"name": "items", "type": "text"})
    change(data)
    found = problems(data)
    matching = [p for p in found if p.element == element_id and p.field == field]
    assert matching, f"no problem at {element_id}/{field!r} in {found}"
    assert any(word.lower() in p.message.lower() for p in matching), matching


def test_every_problem_at_once() -> None:
    data = design_example()
    data["name"] = ""
    element(data, "sms1").pop("from")
    element(data, "wait1")["timeout"] = "soon"
    found = {(p.element, p.field) for p in problems(data)}
    assert {(None, "name"), ("sms1", "from"), ("wait1", "timeout")} <= found


def test_expression_error_message_is_the_compilers() -> None:
    data = design_example()
    data["entry"]["where"] = "event.cartValue >"
    (problem,) = [p for p in problems(data) if p.field == "entry.where"]
    scope = Scope(
        variables={"cartValue": ValueType.decimal},
        person=CONTEXT.attributes,
        event=CONTEXT.events["CartAbandoned"],
        elements=frozenset({"sms1", "email1"}),
    )
    with pytest.raises(ExpressionError) as caught:
        compile_expression("event.cartValue >", scope, expect=ValueType.boolean)
    assert problem.message == str(caught.value)


def test_event_is_the_awaited_one_inside_wait_for_event() -> None:
    data = design_example()
    wait = element(data, "wait1")
    wait["where"] = "event.amount > 10"
    assert problems(data) == []
    wait["where"] = "event.cartValue > 10"  # the entry event's property: not here
    assert [(p.element, p.field) for p in problems(data)] == [("wait1", "where")]


def test_entry_event_is_kept_for_the_whole_flow() -> None:
    data = design_example()
    data["elements"].insert(
        1,
        {
            "id": "seg",
            "type": "segment",
            "next": {"big": "wait1"},
            "branches": [{"name": "big", "when": "event.cartValue > 100"}],
        },
    )
    element(data, "sms1")["next"] = "seg"
    assert problems(data) == []


def test_unknown_entry_event_is_reported_once() -> None:
    data = design_example()
    data["entry"]["event"] = "Nope"
    assert [(p.element, p.field) for p in problems(data)] == [(None, "entry.event")]


def test_a_loop_through_a_wait_is_fine() -> None:
    data = design_example()
    element(data, "thanks")["next"] = "sms1"
    element(data, "email1")["next"] = "sms1"
    assert problems(data) == []


def test_a_self_loop_without_wait_is_a_loop() -> None:
    data = design_example()
    element(data, "thanks")["next"] = "thanks"
    assert [(p.element, p.field) for p in problems(data)] == [("thanks", "next")]


def test_context_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONTEXT.flow_id = 4  # type: ignore[misc]


def test_an_inbound_flow_without_keyword_takes_the_whole_number() -> None:
    data = design_example()
    data["entry"] = {"type": "inbound", "channel": "sms", "number": "+385991234567"}
    found = [p for p in problems(data) if p.field.startswith("entry")]
    assert [(p.field, "STOP" in p.message) for p in found] == [("entry.number", True)]
    data["entry"]["keyword"] = "JOIN"  # another keyword on the same number is fine
    assert [p for p in problems(data) if p.field.startswith("entry")] == []


@settings(max_examples=100, deadline=None)
@given(documents())
def test_validate_never_fails_and_names_real_elements(data: Data) -> None:
    doc = parse_document(data)
    ids = {e.id for e in doc.elements}
    for problem in validate(doc, CONTEXT) + validate(with_exits(doc), CONTEXT):
        assert problem.element is None or problem.element in ids | {
            e.id for e in with_exits(doc).elements
        }
        assert problem.message


def test_a_number_is_taken_with_or_without_its_plus() -> None:
    data = design_example()
    data["entry"] = {"type": "inbound", "channel": "sms", "number": "385 99 123 4567"}
    data["entry"]["keyword"] = "Stop"
    found = [(p.field, p.message) for p in problems(data) if p.field.startswith("entry")]
    assert found == [
        ("entry.keyword", "another active flow already takes keyword 'Stop' on 385 99 123 4567")
    ]
    data["entry"] = {"type": "inbound", "channel": "viber", "number": "shopco", "keyword": "JOIN"}
    assert [p.field for p in problems(data) if p.field.startswith("entry")] == ["entry.number"]
