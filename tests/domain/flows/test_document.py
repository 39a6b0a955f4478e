"""parse_document: the shape of a flow document, errors by element id, the JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.flows import ELEMENT_TYPES, FlowDocument, flow_json_schema, parse_document
from tidings.domain.flows.base import MAX_ELEMENTS

from .examples import ENTRIES, EVERY_ELEMENT, design_example, element, every_element


def shape_problems(data: Any) -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        parse_document(data)
    return caught.value.problems


def test_design_example_parses() -> None:
    doc = parse_document(design_example())
    assert doc.name == "Cart abandonment"
    assert doc.first_id() == "sms1"
    assert [e.type for e in doc.elements] == [
        "send_sms",
        "wait_for_event",
        "send_email",
        "update_profile",
    ]
    sms = doc.elements[0]
    assert sms.type == "send_sms"
    assert sms.from_ == "ShopCo"
    assert doc.settings.reentry.limits[0].max == 2
    assert doc.settings.send_window is not None
    assert doc.settings.send_window.to == "20:00"


def test_every_element_type_parses() -> None:
    doc = parse_document(every_element())
    assert {e.type for e in doc.elements} == set(ELEMENT_TYPES)
    assert len(ELEMENT_TYPES) == 18


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_every_entry_type_parses(kind: str) -> None:
    data = design_example()
    data["entry"] = ENTRIES[kind]
    doc = parse_document(data)
    assert doc.entry is not None
    assert doc.entry.type == kind


def test_call_api_defaults() -> None:
    doc = parse_document({"elements": [{"id": "api", "type": "call_api"}]})
    api = doc.elements[0]
    assert api.type == "call_api"
    assert (api.timeout, api.retries, api.method) == ("PT10S", 2, "POST")


def test_reentry_is_on_by_default() -> None:
    assert parse_document({}).settings.reentry.enabled is True


def test_a_draft_may_be_incomplete() -> None:
    doc = parse_document({"elements": [{"id": "sms1", "type": "send_sms"}]})
    assert doc.name is None
    assert doc.entry is None


def test_ui_is_allowed_everywhere_and_kept() -> None:
    data = every_element()
    data["settings"]["ui"] = {"open": True}
    element(data, "fo1")["attempts"][0]["ui"] = {"x": 1}
    doc = parse_document(data)
    assert doc.ui == EVERY_ELEMENT["ui"]
    assert doc.elements[0].ui == {"x": 10, "y": 20}


def test_unknown_fields_are_refused_and_named_by_element() -> None:
    data = design_example()
    element(data, "sms1")["colour"] = "red"
    data["entry"]["audience"] = []
    data["settings"]["reentry"]["often"] = True
    found = {(p.element, p.field, p.message) for p in shape_problems(data)}
    assert ("sms1", "colour", "'colour' is not a field here") in found
    assert (None, "entry.audience", "'audience' is not a field here") in found
    assert (None, "settings.reentry.often", "'often' is not a field here") in found


def test_snake_case_names_are_not_the_wire_format() -> None:
    data = design_example()
    element(data, "thanks")["add_tags"] = ["x"]
    assert [(p.element, p.field) for p in shape_problems(data)] == [("thanks", "add_tags")]


def test_type_errors_inside_elements_name_the_element() -> None:
    data = design_example()
    element(data, "sms1")["text"] = 5
    element(data, "wait1")["next"] = {"event": 3}
    found = {(p.element, p.field) for p in shape_problems(data)}
    assert ("sms1", "text") in found
    assert any(e == "wait1" and f.startswith("next") for e, f in found)


def test_the_entry_tag_is_not_in_the_path() -> None:
    data = design_example()
    data["entry"]["event"] = 5
    assert [(p.element, p.field) for p in shape_problems(data)] == [(None, "entry.event")]


def test_attempt_fields_are_named_under_the_failover() -> None:
    data = every_element()
    element(data, "fo1")["attempts"][1]["text"] = ["x"]
    element(data, "fo1")["attempts"][0]["id"] = "nested"
    found = {(p.element, p.field) for p in shape_problems(data)}
    assert found == {("fo1", "attempts.1.text"), ("fo1", "attempts.0.id")}


def test_unknown_element_type() -> None:
    data = design_example()
    element(data, "thanks")["type"] = "send_pigeon"
    (problem,) = shape_problems(data)
    assert (problem.element, problem.field) == ("thanks", "type")
    assert "send_pigeon" in problem.message
    assert "send_sms" in problem.message


def test_missing_type_and_id() -> None:
    data = design_example()
    del element(data, "thanks")["type"]
    data["elements"].append({"type": "exit"})
    found = {(p.element, p.field, p.message) for p in shape_problems(data)}
    assert ("thanks", "type", "needs a type") in found
    assert (None, "elements.4.id", "is required") in found


@pytest.mark.parametrize("bad", ["1sms", "sms 1", "sms.1", "", "x" * 65])
def test_ids_are_bounded(bad: str) -> None:
    data = design_example()
    element(data, "thanks")["id"] = bad
    (problem,) = shape_problems(data)
    # An id that is a unique text still finds its element on the canvas.
    expected = (bad, "id") if bad else (None, "elements.3.id")
    assert (problem.element, problem.field) == expected


def test_ids_are_unique() -> None:
    data = design_example()
    element(data, "thanks")["id"] = "sms1"
    (problem,) = shape_problems(data)
    assert (problem.element, problem.field) == ("sms1", "id")


def test_at_most_500_elements_not_counting_exits() -> None:
    chain = [{"id": f"e{i}", "type": "update_variable"} for i in range(MAX_ELEMENTS)]
    exits = [{"id": f"x{i}", "type": "exit"} for i in range(50)]
    assert len(parse_document({"elements": chain + exits}).elements) == MAX_ELEMENTS + 50
    (problem,) = shape_problems({"elements": [*chain, {"id": "one", "type": "wait"}]})
    assert "500" in problem.message


def test_ui_must_be_bounded() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(10):
        node["a"] = {}
        node = node["a"]
    (problem,) = shape_problems({"ui": deep})
    assert problem.field == "ui"


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 1e300])
def test_ui_numbers_must_fit_what_clients_read(number: float) -> None:
    # PostgreSQL keeps such numbers exactly, and the answer could not be written back.
    (problem,) = shape_problems({"ui": {"x": number}})
    assert problem.field == "ui"
    assert "64 bits" in problem.message or "9.2e18" in problem.message


def test_not_an_object() -> None:
    (problem,) = shape_problems(["not", "a", "flow"])
    assert problem.field == ""


def test_model_validate_refuses_too() -> None:
    with pytest.raises(ValueError, match="extra"):
        FlowDocument.model_validate({"nmae": "x"})


def _walk(node: Any, path: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if "description" not in prop:
                out.append(f"{path}.{name}")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk(value, f"{path}.{i}", out)


def test_json_schema_describes_every_field() -> None:
    schema = flow_json_schema()
    assert schema["title"] == "Tidings flow document"
    undescribed: list[str] = []
    _walk(schema, "", undescribed)
    assert undescribed == []
    defs = schema["$defs"]
    assert "from" in defs["SendSms"]["properties"]
    assert "replyTo" in defs["SendEmail"]["properties"]
    assert defs["SendSms"]["additionalProperties"] is False
    mapping = schema["properties"]["elements"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(ELEMENT_TYPES)
    assert defs["CallApi"]["properties"]["timeout"]["default"] == "PT10S"


def test_types_are_strict() -> None:
    data = design_example()
    data["settings"]["reentry"]["enabled"] = "yes"
    data["settings"]["reentry"]["limits"][0]["max"] = "2"
    data["elements"].append({"id": "add", "type": "add_to_flow", "flow": "7"})
    found = {(p.element, p.field) for p in shape_problems(data)}
    assert found == {
        (None, "settings.reentry.enabled"),
        (None, "settings.reentry.limits.0.max"),
        ("add", "flow"),
    }


def test_json_schema_accepts_the_examples_and_refuses_unknown_fields() -> None:
    import jsonschema_rs  # comes with schemathesis, a dev dependency

    validator = jsonschema_rs.Draft202012Validator(flow_json_schema())
    assert validator.is_valid(design_example())
    assert validator.is_valid(every_element())
    data = design_example()
    element(data, "sms1")["colour"] = "red"
    assert not validator.is_valid(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "id", "next", "elements", "entry", "from", "text", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
element_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "1", ""]), "type": st.sampled_from([*ELEMENT_TYPES, "x"])},
    optional={"next": json_values, "text": json_values, "branches": json_values},
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "elements": st.lists(element_like, max_size=4),
            "entry": json_values,
            "settings": json_values,
            "name": json_values,
        },
    )
)
def test_any_json_parses_or_gives_problems(data: dict[str, Any]) -> None:
    found: list[Problem] = []
    try:
        parse_document(data)
    except InvalidInput as exc:
        found = exc.problems or [Problem("?", "")]
    assert all(p.message for p in found)
