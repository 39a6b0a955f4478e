"""`catalog_lookup` in the step function: the key from an expression, the lookup asked of
the shell, `found` assigning `item.x` to variables, `notFound` assigning nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.domain.journey.helpers import NOW, Journey, flow, of, traces, visited
from tidings.domain.flows import ValidationContext
from tidings.domain.journey import LookupCatalog, Phase, ResultArrived, compile_program
from tidings.domain.values import ValueType as V

LOOKUP: dict[str, Any] = {
    "id": "cat",
    "type": "catalog_lookup",
    "catalog": "products",
    "key": "event.sku",
    "assign": {"title": "item.title", "price": "item.price", "sku": "item.id"},
    "next": {"found": "yes", "notFound": "no"},
}
VARIABLES = [
    {"name": "title", "type": "text"},
    {"name": "price", "type": "decimal"},
    {"name": "sku", "type": "text"},
]


def looking_up(lookup: dict[str, Any] | None = None, **event: Any) -> Journey:
    doc = flow(
        lookup or LOOKUP,
        {"id": "yes", "type": "exit"},
        {"id": "no", "type": "exit"},
        variables=VARIABLES,
    )
    journey = Journey(doc)
    journey.enter(**event)
    return journey


def test_the_lookup_is_asked_with_the_evaluated_key_and_the_person_waits() -> None:
    journey = looking_up(sku="A-1")
    assert of(LookupCatalog, journey) == [LookupCatalog("cat", "products", "A-1")]
    assert journey.state.phase is Phase.waiting
    assert journey.state.element == "cat"


def test_found_assigns_the_item_columns_and_takes_found() -> None:
    journey = looking_up(sku="A-1")
    step = journey.apply(
        ResultArrived("cat", "found", {"id": "A-1", "title": "Boots", "price": 80})
    )
    assert step.state.element == "yes"
    assert step.state.variables == {"title": "Boots", "price": 80, "sku": "A-1"}
    assert traces(step, "outcome") == [("cat", "outcome", "found 'A-1'")]


def test_not_found_assigns_nothing() -> None:
    journey = looking_up(sku="Z-9")
    step = journey.apply(ResultArrived("cat", "notFound"))
    assert visited(step) == ["no"]
    assert step.state.variables == {"title": None, "price": None, "sku": None}


def test_a_value_that_does_not_fit_the_variable_is_left_out() -> None:
    journey = looking_up(sku="A-1")
    step = journey.apply(ResultArrived("cat", "found", {"id": "A-1", "price": "a lot"}))
    assert step.state.element == "yes"
    assert step.state.variables == {"title": None, "price": None, "sku": "A-1"}


def test_a_whole_number_key_is_looked_up_as_its_digits() -> None:
    journey = looking_up(sku=1234.0)
    assert of(LookupCatalog, journey) == [LookupCatalog("cat", "products", "1234")]


def test_an_empty_key_takes_not_found_without_asking() -> None:
    for event in ({}, {"sku": ""}, {"sku": True}):
        journey = looking_up(**event)
        assert of(LookupCatalog, journey) == []
        assert visited(journey.effects) == ["cat", "no"]


def test_a_result_of_another_kind_or_element_is_ignored() -> None:
    journey = looking_up(sku="A-1")
    assert journey.apply(ResultArrived("other", "found", {"id": "A-1"})).state.element == "cat"
    assert journey.apply(ResultArrived("cat", "success", {})).state.element == "cat"
    assert journey.state.phase is Phase.waiting


def test_a_lost_answer_is_asked_for_once_more_then_not_found() -> None:
    journey = looking_up(sku="A-1")
    assert journey.state.wake_at == NOW + timedelta(minutes=5)
    again = journey.until_wake()
    assert of(LookupCatalog, again.effects) == [LookupCatalog("cat", "products", "A-1")]
    assert again.state.element == "cat"
    assert journey.until_wake().state.element == "no"
    assert journey.apply(ResultArrived("cat", "found", {"id": "A-1"})).state.element == "no"


def test_columns_are_typed_from_the_catalog_when_known() -> None:
    doc = flow(
        {**LOOKUP, "assign": {"title": "concat(item.title, '!')", "price": "item.price * 2"}},
        {"id": "yes", "type": "exit"},
        {"id": "no", "type": "exit"},
        variables=VARIABLES,
    )
    context = ValidationContext(catalogs={"products": {"title": V.text, "price": V.decimal}})
    program = compile_program(doc, flow_id=7, version=1, context=context)
    journey = Journey(program)
    journey.enter(sku="A-1")
    step = journey.apply(ResultArrived("cat", "found", {"id": "A-1", "title": "Hat", "price": 2.5}))
    assert step.state.variables == {"title": "Hat!", "price": 5.0, "sku": None}
