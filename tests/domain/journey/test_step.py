"""The step loop and the stimuli: what moves a person, what does not, and how they leave."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.domain.journey.helpers import (
    NOW,
    Journey,
    counts,
    flow,
    of,
    traces,
    visited,
)
from tidings.domain.journey import (
    MAX_VISITS,
    Canceled,
    Entered,
    EventArrived,
    Phase,
    ResultArrived,
    SendMessage,
    TimerDue,
)

SMS = {"type": "send_sms", "from": "ShopCo", "text": "Hi"}
WAIT = {"type": "wait", "duration": "PT1H"}


def test_an_empty_flow_is_entered_and_left_at_once() -> None:
    step = Journey(flow()).enter()
    assert step.state.phase is Phase.exited
    assert step.state.exit_reason == "completed"
    assert counts(step) == {("profilesInFlow", None): 1, ("profilesExited", None): 1}


def test_entered_twice_changes_nothing() -> None:
    journey = Journey(flow({"id": "w", **WAIT}))
    journey.enter()
    before = journey.state
    step = journey.enter()
    assert step.state is before
    assert step.effects == ()


def test_the_entry_may_name_its_first_element() -> None:
    doc = flow({"id": "a", **SMS}, {"id": "b", **WAIT}, entry={"type": "api", "next": "b"})
    step = Journey(doc).enter()
    assert visited(step) == ["b"]
    assert of(SendMessage, step) == []


def test_a_missing_next_is_an_exit_where_the_person_stands() -> None:
    step = Journey(flow({"id": "a", **SMS})).enter()
    assert step.state.phase is Phase.exited
    assert step.state.element == "a"
    assert step.state.exit_reason == "completed"
    assert traces(step, "exited") == [("a", "exited", "completed")]


def test_a_missing_outcome_is_an_exit() -> None:
    doc = flow(
        {
            "id": "s",
            "type": "segment",
            "branches": [{"name": "all", "when": "true"}],
            "next": {"otherwise": "x"},
        },
        {"id": "x", **SMS},
    )
    step = Journey(doc).enter()
    assert step.state.phase is Phase.exited
    assert visited(step) == ["s"]
    assert of(SendMessage, step) == []


def test_an_unknown_next_is_an_exit_with_a_trace() -> None:
    step = Journey(flow({"id": "a", **SMS, "next": "nowhere"})).enter()
    assert step.state.phase is Phase.exited
    assert ("a", "no such element", "nowhere") in traces(step)


def test_an_exit_element_counts_its_visit_and_the_exit() -> None:
    step = Journey(flow({"id": "a", **SMS, "next": "end"}, {"id": "end", "type": "exit"})).enter()
    assert step.state.element == "end"
    assert counts(step)[("totalEngagements", "end")] == 1
    assert counts(step)[("profilesExited", None)] == 1


def test_a_loop_that_never_waits_ends_with_reason_loop() -> None:
    doc = flow(
        {"id": "a", "type": "update_variable", "set": {"n": "n + 1"}, "next": "b"},
        {"id": "b", "type": "update_variable", "set": {"n": "n + 1"}, "next": "a"},
        variables=[{"name": "n", "type": "integer", "default": "0"}],
    )
    step = Journey(doc).enter()
    assert step.state.phase is Phase.exited
    assert step.state.exit_reason == "loop"
    assert step.state.variables["n"] == MAX_VISITS
    assert ("profilesExited", None) not in counts(step)


def test_a_loop_through_a_wait_waits() -> None:
    doc = flow({"id": "a", **SMS, "next": "w"}, {"id": "w", **WAIT, "next": "a"})
    journey = Journey(doc)
    journey.enter()
    for _ in range(3):
        step = journey.wait(timedelta(hours=1))
        assert visited(step) == ["a", "w"]
        assert step.state.phase is Phase.waiting
    assert len(of(SendMessage, journey)) == 4


def test_canceled_leaves_with_the_reason_and_no_exit_count() -> None:
    journey = Journey(flow({"id": "w", **WAIT}))
    journey.enter()
    step = journey.apply(Canceled("flow canceled"))
    assert step.state.phase is Phase.exited
    assert step.state.exit_reason == "flow canceled"
    assert step.state.wake_at is None
    assert counts(step) == {}
    assert traces(step) == [("w", "exited", "flow canceled")]


@pytest.mark.parametrize(
    "stimulus",
    [
        Entered({}),
        TimerDue(),
        EventArrived("x", {}, NOW),
        ResultArrived("a", "success"),
        Canceled(),
    ],
)
def test_a_person_who_left_is_never_moved(stimulus: object) -> None:
    journey = Journey(flow({"id": "a", **SMS}))
    journey.enter()
    done = journey.state
    step = journey.apply(stimulus)  # type: ignore[arg-type]
    assert step.state is done
    assert step.effects == ()


def test_a_timer_before_wake_at_changes_nothing() -> None:
    journey = Journey(flow({"id": "w", **WAIT}))
    journey.enter()
    before = journey.state
    step = journey.wait(timedelta(minutes=59, seconds=59))
    assert step.state is before
    assert step.effects == ()
    assert journey.wait(timedelta(seconds=1)).state.phase is Phase.exited


def test_a_late_timer_still_resumes() -> None:
    journey = Journey(flow({"id": "w", **WAIT}))
    journey.enter()
    assert journey.wait(timedelta(days=3)).state.phase is Phase.exited


def test_a_result_for_another_element_changes_nothing() -> None:
    doc = flow({"id": "api", "type": "call_api", "url": "https://example.com"})
    journey = Journey(doc)
    journey.enter()
    before = journey.state
    assert journey.apply(ResultArrived("other", "success")).state is before


def test_message_events_of_this_flow_are_recorded_even_when_not_awaited() -> None:
    journey = Journey(flow({"id": "sms1", **SMS, "next": "w"}, {"id": "w", **WAIT}))
    journey.enter()
    waiting = journey.state
    step = journey.message_event("clicked", "sms1")
    assert step.state.message_events == {("sms1", "clicked")}
    assert step.state.element == "w"
    assert step.state.wake_at == waiting.wake_at
    assert step.effects == ()
    # Another flow's, another version's, an unknown element's, or a non-message event: not.
    for name, props in [
        ("message.seen", {"flow": 8, "version": 1, "element": "sms1"}),
        ("message.seen", {"flow": 7, "version": 2, "element": "sms1"}),
        ("message.seen", {"flow": 7, "version": 1, "element": "w"}),
        ("message.received", {"flow": 7, "version": 1, "element": "sms1"}),
        ("seen", {"flow": 7, "version": 1, "element": "sms1"}),
    ]:
        assert journey.event(name, **props).state.message_events == {("sms1", "clicked")}


def test_recorded_message_events_answer_clicked() -> None:
    doc = flow(
        {"id": "sms1", **SMS, "next": "w"},
        {"id": "w", **WAIT, "next": "s"},
        {
            "id": "s",
            "type": "segment",
            "branches": [{"name": "clicked", "when": 'clicked("sms1")'}],
            "next": {"clicked": "thanks"},
        },
        {"id": "thanks", "type": "update_profile", "addTags": ["engaged"]},
    )
    journey = Journey(doc)
    journey.enter()
    journey.message_event("clicked", "sms1", messageId="m1")
    step = journey.wait(timedelta(hours=1))
    assert visited(step) == ["s", "thanks"]
    assert ("s", "branch", "segment 'clicked' matched: clicked(\"sms1\")") in traces(step)

    other = Journey(doc)
    other.enter()
    other.message_event("delivered", "sms1")
    assert visited(other.wait(timedelta(hours=1))) == ["s"]


def test_bad_data_never_raises() -> None:
    doc = flow(
        {"id": "u", "type": "update_variable", "set": {"x": "1 / zero"}, "next": "s"},
        {
            "id": "s",
            "type": "send_sms",
            "from": "S",
            "text": "{{ x | divided_by: 0 }}",
            "next": "e",
        },
        {"id": "e", "type": "send_email", "from": "a@b.c", "subject": "Hi", "html": "ok"},
        variables=[
            {"name": "x", "type": "decimal", "default": "1"},
            {"name": "zero", "type": "integer", "default": "0"},
        ],
    )
    step = Journey(doc).enter()
    assert step.state.variables["x"] is None
    assert [m.channel for m in of(SendMessage, step)] == ["email"]
    [(element, what, why)] = traces(step, "skipped")
    assert (element, what) == ("s", "skipped")
    assert why is not None
    assert why.startswith("text: ")
