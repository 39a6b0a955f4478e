"""Entering: the starting variables (defaults, the entry's assign, given values) and
compiling a version (lenient names, typed names with a context, problems)."""

from __future__ import annotations

from typing import Any

from tests.domain.journey.helpers import ANA, NOW, Journey, compiled, flow, traces
from tidings.domain.flows import ValidationContext
from tidings.domain.journey import EventArrived, Phase, admits, compile_program, goal_reached
from tidings.domain.people import STANDARD_TYPES
from tidings.domain.values import ValueType

HOLD = {"id": "w", "type": "wait", "duration": "PT1H"}
VARIABLES = [
    {"name": "points", "type": "integer", "default": "coalesce(person.loyaltyPoints, 0)"},
    {"name": "double", "type": "integer", "default": "points * 2"},
    {"name": "label", "type": "text", "default": '"none"'},
    {"name": "cartValue", "type": "decimal", "default": "event.cartValue"},
    {"name": "since", "type": "datetime", "default": "now()"},
    {"name": "items", "type": "list"},
]


def started(variables: dict[str, Any] | None = None, **event: Any) -> Journey:
    journey = Journey(flow(HOLD, variables=VARIABLES))
    journey.enter(variables, **event)
    return journey


def test_defaults_are_expressions_in_declared_order() -> None:
    journey = started(cartValue=80.5)
    assert journey.state.variables == {
        "points": 120,
        "double": 240,
        "label": "none",
        "cartValue": 80.5,
        "since": "2026-01-05T09:00:00Z",
        "items": None,
    }


def test_given_variables_are_coerced_to_their_types() -> None:
    journey = started({"label": "gold", "cartValue": "12.5", "points": 7, "items": [1, 2]})
    variables = journey.state.variables
    assert variables["label"] == "gold"
    assert variables["cartValue"] == 12.5
    assert variables["points"] == 7
    assert variables["double"] == 14  # defaults come last: from the given points
    assert variables["items"] == [1, 2]
    assert traces(journey.steps[0], "variable ignored") == []


def test_a_value_that_does_not_fit_keeps_the_default_with_a_trace() -> None:
    journey = started({"points": "many", "label": None, "nope": 1})
    assert journey.state.variables["points"] == 120
    assert journey.state.variables["label"] == "none"  # null keeps the default
    assert traces(journey.steps[0], "variable ignored") == [
        (None, "variable ignored", "points: must be a number; kept the default"),
        (None, "variable ignored", "nope: not a variable of this flow"),
    ]


def test_the_entry_assign_reads_the_event() -> None:
    doc = flow(
        HOLD,
        entry={"type": "event", "event": "Ordered", "assign": {"order": "event.id"}},
        variables=[{"name": "order", "type": "text"}, {"name": "n", "type": "integer"}],
    )
    journey = Journey(doc)
    journey.enter({"n": 3}, id="o-1")
    assert journey.state.variables == {"order": "o-1", "n": 3}
    assert journey.state.entry_event == {"id": "o-1"}


def test_without_a_context_unknown_names_are_typed_at_run_time() -> None:
    doc = flow(
        {
            "id": "s",
            "type": "segment",
            "branches": [{"name": "rich", "when": "person.loyaltyPoints >= 100"}],
        },
    )
    program = compiled(doc)
    assert program.problems == ()
    assert Journey(program).enter().state.element == "s"
    assert ("s", "branch", "segment 'rich' matched: person.loyaltyPoints >= 100") in traces(
        Journey(program).enter()
    )


def test_with_a_context_names_are_typed_as_validation_typed_them() -> None:
    doc = flow(
        {"id": "u", "type": "update_variable", "set": {"d": "dateAdd(person.born, 1, 'days')"}},
        variables=[{"name": "d", "type": "date"}],
    )
    context = ValidationContext(attributes={**STANDARD_TYPES, "born": ValueType.date})
    program = compiled(doc, context=context)
    assert program.problems == ()
    person = ANA._replace(attributes={"born": "2000-02-28"})
    journey = Journey(program, person)
    journey.enter()
    assert journey.state.variables["d"] == "2000-02-29"


def test_what_does_not_compile_is_listed_and_behaves_as_null() -> None:
    doc = flow(
        {"id": "s", "type": "segment", "branches": [{"name": "a", "when": "1 +"}]},
        {"id": "t", "type": "send_sms", "from": "S", "text": "{% if %}"},
        entry={"type": "api", "next": "s"},
    )
    doc["elements"][0]["next"] = {"otherwise": "t"}
    program = compiled(doc)
    assert [p.split(":")[0] for p in program.problems] == ["s.branches.0.when", "t.text"]
    step = Journey(program).enter()
    assert step.state.phase is Phase.exited
    assert [t[:2] for t in traces(step, "skipped")] == [("t", "skipped")]


def test_timezones_fall_back_to_the_account_and_to_utc() -> None:
    assert compiled(flow(timezone="Europe/Zagreb")).timezone == "Europe/Zagreb"
    assert compiled(flow(), account_timezone="Asia/Tokyo").timezone == "Asia/Tokyo"
    assert compiled(flow(timezone="Mars/Olympus"), account_timezone="Nowhere").timezone == "UTC"


def test_a_document_or_its_data_compiles() -> None:
    from tidings.domain.flows import parse_document

    data = flow(HOLD)
    program = compile_program(parse_document(data), flow_id=3, version=4)
    assert (program.flow_id, program.version, program.first) == (3, 4, "w")


def test_admits_without_a_where_and_goal_values() -> None:
    doc = flow(
        HOLD,
        settings={
            "goal": {"event": "Bought", "where": "event.amount > 0", "value": "event.amount"}
        },
    )
    context = ValidationContext(events={"Bought": {"amount": ValueType.decimal}})
    program = compiled(doc, context=context)
    assert admits(program, ANA, None, NOW)
    journey = Journey(program)
    journey.enter()
    hit = goal_reached(program, journey.state, EventArrived("Bought", {"amount": 19.9}, NOW), NOW)
    assert hit is not None
    assert hit.value == 19.9
    none = EventArrived("Bought", {"amount": 0}, NOW)
    assert goal_reached(program, journey.state, none, NOW) is None


def test_without_a_context_a_decimal_compares_with_an_integer() -> None:
    program = compiled(
        flow(HOLD, settings={"goal": {"event": "Bought", "where": "event.amount > 0"}})
    )
    journey = Journey(program)
    journey.enter()
    event = EventArrived("Bought", {"amount": 19.9}, NOW)
    assert goal_reached(program, journey.state, event, NOW) is not None
