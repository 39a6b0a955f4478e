"""The flow as a graph: automatic exits, reachability and loops that never wait."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from tidings.domain.flows import busy_loops, parse_document, reachable, with_exits
from tidings.domain.flows.base import ID_RE, MAX_ID
from tidings.domain.flows.graph import open_outcomes

from .examples import design_example
from .test_canonical import documents


def test_exits_on_every_open_branch() -> None:
    doc = with_exits(parse_document(design_example()))
    by_id = {e.id: e for e in doc.elements}
    assert by_id["email1"].next == "exit-email1"
    assert by_id["thanks"].next == "exit-thanks"
    assert by_id["wait1"].next == {"event": "thanks", "timeout": "email1"}
    assert [e.id for e in doc.elements[-2:]] == ["exit-email1", "exit-thanks"]
    assert all(by_id[i].type == "exit" for i in ("exit-email1", "exit-thanks"))


def test_missing_outcomes_get_their_own_exit() -> None:
    data: dict[str, Any] = {
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [
                    {"name": "VIP customers", "when": "true"},
                    {"name": "b", "when": "true"},
                ],
                "next": {"b": "seg"},
            },
            {"id": "api", "type": "call_api"},
        ]
    }
    doc = with_exits(parse_document(data))
    seg, api = doc.elements[:2]
    assert isinstance(seg.next, dict)
    assert isinstance(api.next, dict)
    assert seg.next["b"] == "seg"
    assert seg.next["otherwise"] == "exit-seg-otherwise"
    # A branch name that is no id still gives a valid, stable exit id.
    vip = seg.next["VIP customers"]
    assert ID_RE.match(vip)
    assert vip.startswith("exit-seg-VIP_customers-")
    assert api.next == {"success": "exit-api-success", "failure": "exit-api-failure"}


def test_a_single_next_closes_every_outcome() -> None:
    data = design_example()
    data["elements"][1]["next"] = "thanks"
    doc = with_exits(parse_document(data))
    assert doc.elements[1].next == "thanks"


def test_exit_ids_are_unique_and_short() -> None:
    long_id = "a" * MAX_ID
    data = {
        "elements": [
            {"id": "exit-x", "type": "exit"},
            {"id": "x", "type": "update_variable"},
            {"id": long_id, "type": "update_variable"},
        ]
    }
    doc = with_exits(parse_document(data))
    ids = [e.id for e in doc.elements]
    assert len(set(ids)) == len(ids) == 5
    assert doc.elements[1].next == "exit-x-2"
    assert all(len(i) <= MAX_ID and ID_RE.match(i) for i in ids)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_with_exits_is_idempotent_and_closes_every_branch(data: dict[str, Any]) -> None:
    once = with_exits(parse_document(data))
    assert with_exits(once) == once
    assert all(not open_outcomes(e) for e in once.elements)
    ids = [e.id for e in once.elements]
    assert len(set(ids)) == len(ids)
    parse_document(once.model_dump(mode="json"))  # still a valid document


def test_reachable_follows_next_from_the_entry() -> None:
    data = design_example()
    data["elements"][0]["next"] = "email1"
    assert reachable(parse_document(data)) == {"sms1", "email1"}
    data["entry"]["next"] = "wait1"
    assert reachable(parse_document(data)) == {"wait1", "thanks", "email1"}


def test_busy_loops() -> None:
    data = {
        "elements": [
            {"id": "a", "type": "update_variable", "next": "b"},
            {"id": "b", "type": "segment", "next": {"x": "a", "otherwise": "c"}},
            {"id": "c", "type": "wait", "duration": "PT1H", "next": "a"},  # waits: fine
            {"id": "d", "type": "send_sms", "next": "d"},
            {"id": "e", "type": "call_api", "next": "e"},  # waits for the answer: fine
            {"id": "f", "type": "notify", "next": "g"},
            {"id": "g", "type": "add_to_flow", "next": {"x": "f"}},
        ]
    }
    assert busy_loops(parse_document(data)) == [["a", "b"], ["d"], ["f", "g"]]
