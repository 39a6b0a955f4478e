"""Goals in the step function: performers once per participation, the value in millionths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.journey.helpers import Journey, counts, flow, traces
from tidings.domain.journey import Phase
from tidings.domain.journey.entry import value_micros

WAIT = {"id": "w", "type": "wait", "duration": "P1D", "next": "w2"}
WAIT2 = {"id": "w2", "type": "wait", "duration": "P1D"}


def goal_flow(goal: dict[str, Any], *elements: dict[str, Any]) -> Journey:
    doc = flow(*(elements or (WAIT, WAIT2)), settings={"goal": goal})
    journey = Journey(doc)
    journey.enter()
    return journey


def goal_counts(journey: Journey) -> dict[str, int]:
    return {
        name: value
        for (name, element), value in counts(journey).items()
        if name.startswith("goal") and element is None
    }


def test_the_goal_event_makes_a_performer_and_the_person_waits_on() -> None:
    journey = goal_flow({"event": "Purchase"})
    waiting = journey.state
    step = journey.event("Purchase", amount=10)
    assert goal_counts(journey) == {"goalPerformers": 1}
    assert traces(step, "goal reached") == [("w", "goal reached", "Purchase")]
    state = step.state
    assert (state.phase, state.element, state.wake_at) == (
        Phase.waiting,
        "w",
        waiting.wake_at,
    )
    assert state.local == {"goal": "2026-01-05T09:00:00Z"}


def test_once_per_participation_across_elements() -> None:
    journey = goal_flow({"event": "Purchase", "value": "event.amount"})
    journey.event("Purchase", amount=10)
    journey.event("Purchase", amount=20)
    journey.until_wake()  # on to w2: the mark goes along
    assert journey.state.element == "w2"
    assert "goal" in journey.state.local
    journey.event("Purchase", amount=30)
    assert goal_counts(journey) == {"goalPerformers": 1, "goalValueMicros": 10_000_000}


def test_where_filters_and_other_events_do_nothing() -> None:
    journey = goal_flow({"event": "Purchase", "where": "event.amount > 100"})
    small = journey.event("Purchase", amount=50)
    assert small.effects == ()
    assert journey.event("Visit").effects == ()
    journey.event("Purchase", amount=150)
    assert goal_counts(journey) == {"goalPerformers": 1}


def test_the_value_is_added_in_millionths() -> None:
    journey = goal_flow({"event": "Purchase", "value": "event.amount * 2"})
    step = journey.event("Purchase", amount=19.99)
    assert goal_counts(journey) == {"goalPerformers": 1, "goalValueMicros": 39_980_000}
    assert traces(step, "goal reached") == [("w", "goal reached", "Purchase, value 39.98")]


def test_a_value_that_is_not_a_number_counts_the_performer_only() -> None:
    journey = goal_flow({"event": "Purchase", "value": "event.amount"})
    step = journey.event("Purchase", amount="lots")
    assert goal_counts(journey) == {"goalPerformers": 1}
    assert traces(step, "goal reached") == [
        ("w", "goal reached", "Purchase, no value (event.amount is not a number)")
    ]


def test_the_goal_event_that_ends_a_wait_counts_too() -> None:
    awaiting = {"id": "w", "type": "wait_for_event", "event": "Purchase", "timeout": "P1D"}
    journey = goal_flow({"event": "Purchase", "value": "event.amount"}, awaiting)
    step = journey.event("Purchase", amount=5)
    assert step.state.phase is Phase.exited
    assert step.state.local == {"goal": "2026-01-05T09:00:00Z", "goalValue": 5}
    assert goal_counts(journey) == {"goalPerformers": 1, "goalValueMicros": 5_000_000}


def test_after_the_exit_and_without_a_goal_nothing_counts() -> None:
    journey = goal_flow({"event": "Purchase"}, {"id": "x", "type": "exit"})
    assert journey.state.phase is Phase.exited
    assert journey.event("Purchase").effects == ()
    plain = Journey(flow(WAIT))
    plain.enter()
    assert plain.program.goal is None
    assert plain.event("Purchase").effects == ()
    assert plain.state.local == {}


def test_the_goal_reads_flow_variables() -> None:
    doc = flow(
        WAIT,
        settings={"goal": {"event": "Purchase", "where": "event.amount >= minimum"}},
        variables=[{"name": "minimum", "type": "decimal", "default": "100"}],
    )
    journey = Journey(doc)
    journey.enter()
    assert journey.event("Purchase", amount=99).effects == ()
    journey.event("Purchase", amount=100)
    assert goal_counts(journey) == {"goalPerformers": 1}


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        (None, 0),
        (0, 0),
        (19.99, 19_990_000),
        (0.1 + 0.2, 300_000),
        (-5, -5_000_000),
        (0.0000005, 0),  # half to even
        (0.0000015, 2),
        (float("nan"), 0),
        (10**13, 0),  # beyond what one value may add
    ],
)
def test_value_micros(value: int | float | None, micros: int) -> None:
    assert value_micros(value) == micros
