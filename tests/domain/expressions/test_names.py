"""Names: what a scope allows, suggestions for typos, and no way out to Python objects."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.domain.expressions import Scope, compile_expression

from .helpers import SCOPE, V, error, ev


def test_names_read_the_context() -> None:
    assert ev("cartValue") == 12.5
    assert ev("person.firstName") == "Ana"
    assert ev("event.cartValue") == 80
    assert ev("cartValue", variables={}) is None
    assert ev("person.firstName", person={}) is None


def test_names_lists_what_an_expression_reads() -> None:
    expression = compile_expression(
        'event.cartValue > cartValue and person.country == "HR" and cartValue > 1', SCOPE
    )
    assert expression.names == {"event.cartValue", "cartValue", "person.country"}


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("cartValu", 0, "unknown variable 'cartValu'; did you mean cartValue or event.cartValue?"),
        ("cartvalue", 0, "unknown variable 'cartvalue'; did you mean cartValue or event"),
        ("frstName", 0, "unknown variable 'frstName'; did you mean person.firstName?"),
        (
            "person.frstName",
            0,
            "unknown person attribute 'person.frstName'; did you mean person.firstName?",
        ),
        ("firstName", 0, "unknown variable 'firstName'; did you mean person.firstName?"),
        (
            "1 + person.firstname",
            4,
            "unknown person attribute 'person.firstname'; did you mean person.firstName?",
        ),
        (
            "event.cartvalue",
            0,
            "unknown event property 'event.cartvalue'; did you mean event.cartValue?",
        ),
        ("zzz", 0, "unknown variable 'zzz'"),
        ("person", 0, "person needs a field, such as person.firstName"),
        ("event", 0, "event needs a field, such as event.cartValue"),
        ("person.firstName.length", 7, "person.firstName is a text; it has no fields"),
        ("cartValue.x", 0, "cartValue is a decimal; it has no fields"),
        ("response.status", 0, "response is only available in a call_api assign"),
        ("item.price", 0, "item is only available in a catalog_lookup assign"),
        ("today", 0, "today is a function: write today(…)"),
        ("datAdd(today(), 1, 'days')", 0, "unknown function 'datAdd'; did you mean dateAdd"),
        ("DATEADD(today(), 1, 'days')", 0, "unknown function 'DATEADD': names are case-sensitive"),
        ("eval('1')", 0, "unknown function 'eval'"),
        ("__import__('os')", 0, "unknown function '__import__'"),
    ],
)
def test_unknown_names(source: str, position: int, message: str) -> None:
    problem = error(source)
    assert problem.message.startswith(message)
    assert problem.position == position


def test_event_out_of_scope() -> None:
    scope = Scope(person={"firstName": V.text})
    problem = error("event.cartValue > 1", scope)
    assert problem.message == "there is no event here: event.x needs an event"
    assert problem.position == 0


def test_response_is_any_depth_and_any_type() -> None:
    scope = Scope(response=True)
    response = {"status": 200, "body": {"order": {"id": "o-1", "total": 10}}, "list": [1]}
    expression = compile_expression("response.body.order.id", scope)
    assert expression.type is None
    assert ev("response.body.order.id", scope, response=response) == "o-1"
    assert ev("response.body.missing.id", scope, response=response) is None
    assert ev("response.list.x", scope, response=response) is None
    assert ev("response.status == 200", scope, response=response) is True
    assert ev("response.body.order.total * 2", scope, response=response) == 20
    assert ev("response.status", scope, response=None) is None
    assert compile_expression("response.x", scope, expect=V.decimal).type == V.decimal


def test_response_values_are_checked_where_types_meet() -> None:
    scope = Scope(response=True, variables={"label": V.text})
    response = {"code": 12, "name": "Ana", "when": "2026-01-31T10:00:00Z", "ok": "yes"}
    assert ev('"n" + response.code', scope, response=response) == "n12"
    assert ev("response.code + 1", scope, response=response) == 13
    assert ev("response.name + 1", scope, response=response) is None
    assert ev("response.name + response.code", scope, response=response) == "Ana12"
    assert ev("response.code > 5", scope, response=response) is True
    assert ev("response.name > 5", scope, response=response) is False
    assert ev('response.name > "A"', scope, response=response) is True
    assert ev("response.name > response.code", scope, response=response) is False
    assert ev("response.ok == true", scope, response=response) is False
    assert ev("response.ok", scope, expect=V.boolean, response=response) is False
    assert ev("response.code", scope, expect=V.text, response=response) is None
    assert ev('dateAdd(response.when, 1, "days")', scope, response=response) == (
        "2026-02-01T10:00:00Z"
    )
    assert ev('coalesce(response.missing, "x")', scope, response=response) == "x"


def test_item_columns() -> None:
    scope = Scope(item={"price": V.decimal, "name": V.text})
    assert ev("item.price * 2", scope, item={"price": 2.5}) == 5.0
    assert ev("item.name", scope, item=None) is None
    assert error("item.prize", scope).message.startswith(
        "unknown item column 'item.prize'; did you mean item.price?"
    )


@pytest.mark.parametrize(
    "source",
    [
        "person.__class__",
        "person.__dict__",
        "event.__class__.__mro__",
        "cartValue.__class__",
        '"".join(["a"])',
        "'a'.upper()",
        "person.get('firstName')",
        "[1].append(2)",
        "(1).real",
        "lower.__globals__",
        "__builtins__",
        "getattr(person, 'x')",
        "ctx.person",
    ],
)
def test_no_way_to_python_attributes(source: str) -> None:
    error(source)  # ExpressionError: names are data keys, calls name our functions only


def test_response_dunder_names_are_data_keys() -> None:
    scope = Scope(response=True)
    assert ev("response.__class__", scope, response={}) is None
    assert ev("response.__class__", scope, response={"__class__": "data"}) == "data"
    assert ev("response.keys", scope, response={"a": 1}) is None
    assert ev("response.a.__len__", scope, response={"a": "text"}) is None


class Sneaky(dict[str, Any]):
    """A mapping whose attributes differ from its keys."""

    secret = "attribute"


def test_names_never_read_attributes_of_mappings() -> None:
    scope = Scope(response=True, person={"secret": V.text})
    data = Sneaky()
    assert ev("response.secret", scope, response=data) is None
    assert ev("person.secret", scope, person=data) is None
