"""`EntryPlan`: an event entry's paths through deciders, proved once and chosen per
person, give each person what their own step gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tidings.domain.journey import Entered, Phase, compile_program
from tidings.domain.journey.needs import EVERYTHING, Needs
from tidings.domain.journey.program import Program
from tidings.domain.journey.step import advance
from tidings.domain.journey.types import Count, Person, SendMessage, State, Trace
from tidings.domain.journey.uniform import EntryPlan, PersonalEntry, entry_needs, uniform_move

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def program(*elements: dict[str, Any], **doc: Any) -> Program:
    document = {
        "name": "e",
        "entry": {"type": "event", "event": "Cart", "where": "event.value > 0"},
        "elements": list(elements),
        **doc,
    }
    return compile_program(document, flow_id=5, version=1)


SMS = {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}
PROGRAMS = {
    "segment on the event": program(
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "big", "when": "event.value > 50"}],
            "next": {"big": "sms", "otherwise": "w"},
        },
        {**SMS, "next": "w"},
        {"id": "w", "type": "wait", "duration": "P1D"},
    ),
    "nested, on the person": program(
        {
            "id": "a",
            "type": "segment",
            "branches": [{"name": "ana", "when": "person.firstName == 'Ana'"}],
            "next": {"ana": "b"},
        },
        {
            "id": "b",
            "type": "split",
            "branches": [{"name": "x", "percent": 30}, {"name": "y", "percent": 70}],
            "next": {"x": "sms", "y": "bye"},
        },
        SMS,
        {"id": "bye", "type": "exit"},
    ),
    "a branch that is per person": program(
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "big", "when": "event.value > 50"}],
            "next": {"big": "tag"},
        },
        {"id": "tag", "type": "update_profile", "addTags": ["big"]},
    ),
    "assign and defaults": program(
        {**SMS, "text": "{{ cart }} for {{ person.firstName | default: 'you' }} ({{ n }})"},
        entry={
            "type": "event",
            "event": "Cart",
            "where": "event.value > 0",
            "assign": {"cart": "event.value"},
        },
        variables=[
            {"name": "cart", "type": "decimal"},
            {"name": "n", "type": "integer", "default": "3"},
        ],
    ),
    "a send window": program(
        SMS,
        settings={"sendWindow": {"days": ["mon"], "from": "09:00", "to": "10:00"}},
    ),
}
PEOPLE = [
    Person(id=11, external_id="a", attributes={"firstName": "Ana"}, phones=("+385911",)),
    Person(id=12, external_id="b", attributes={"firstName": "Bo"}, phones=("+385912",)),
    Person(id=13, external_id="c", attributes={"firstName": "Ana"}),  # no phone
    *(
        Person(id=i, external_id=f"p{i}", attributes={"firstName": "Ana"}, phones=("+1",))
        for i in range(20, 40)
    ),
]
EVENTS = [{"value": 10}, {"value": 99}, {"value": "lots"}, {}, {"value": 10**30}]


def state(p: Program, person: Person) -> State:
    return State(
        participation_id=0,
        flow_id=p.flow_id,
        version=p.version,
        person=person,
        phase=Phase.running,
        element=None,
        variables={},
        entry_event=None,
        entered_at=NOW,
    )


def same(p: Program, entry: PersonalEntry, person: Person, event: dict[str, Any]) -> None:
    """`entry` is what the step function does for `person` entering on `event`."""
    real = advance(p, state(p, person), Entered({}, event, 0), NOW)
    move, after = entry.leaf.move, real.state
    assert (after.phase, after.element, after.wake_at, after.waiting_for) == (
        move.phase,
        move.element,
        move.wake_at,
        move.waiting_for,
    )
    assert (after.waiting_element, dict(after.local), after.exit_reason) == (
        move.waiting_element,
        dict(move.local),
        move.exit_reason,
    )
    assert (dict(after.variables), after.entry_event) == (entry.variables, entry.entry_event)
    counts = [e for e in real.effects if isinstance(e, Count) and e.name != "messagesSent"]
    assert counts == list(move.counts)
    lines = [(e.element, e.what, e.why) for e in real.effects if isinstance(e, Trace)]
    assert lines == list(move.lines)
    assert [e for e in real.effects if isinstance(e, SendMessage)] == list(entry.messages)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_entry_on_a_plan_is_what_its_own_step_gives(name: str) -> None:
    p = PROGRAMS[name]
    plan = EntryPlan(p, NOW)
    planned = 0
    for person in PEOPLE:
        for event in EVENTS:
            entry = plan.enter(person, event)
            if entry is not None:
                same(p, entry, person, event)
                planned += 1
    expected = {
        "segment on the event": len(PEOPLE) * len(EVENTS) - 2,  # no phone: big ones
        "nested, on the person": None,
        "a branch that is per person": len(PEOPLE) * 3,  # all but the big ones
        "assign and defaults": None,
        "a send window": 0,
    }[name]
    if expected is None:
        assert planned > len(PEOPLE)
    else:
        assert planned == expected


def test_people_who_choose_alike_share_a_leaf() -> None:
    plan = EntryPlan(PROGRAMS["segment on the event"], NOW)
    small = [plan.enter(person, {"value": 10}) for person in PEOPLE[:2]]
    big = [plan.enter(person, {"value": 99}) for person in PEOPLE[:2]]
    assert small[0] is not None
    assert small[1] is not None
    assert big[0] is not None
    assert big[1] is not None
    assert small[0].leaf is small[1].leaf
    assert big[0].leaf is big[1].leaf
    assert small[0].leaf is not big[0].leaf
    move = small[0].leaf.move
    assert (move.element, move.wake_at) == ("w", NOW + timedelta(days=1))
    assert small[0].leaf.choices[0][1].outcome == "otherwise"
    assert big[0].leaf.move.sends == ("sms",)


def test_a_value_that_does_not_fit_leaves_the_person_to_their_own_step() -> None:
    p = PROGRAMS["assign and defaults"]
    plan = EntryPlan(p, NOW)
    assert plan.enter(PEOPLE[0], {"value": 10**30}) is None  # traced "variable ignored"
    entry = plan.enter(PEOPLE[0], {"value": 12})
    assert entry is not None
    assert entry.variables == {"cart": 12, "n": 3}
    assert entry.messages[0].content["text"] == "12 for Ana (3)"


def test_an_entry_loads_what_its_conditions_and_messages_read() -> None:
    def needs(name: str) -> Needs:
        return entry_needs([PROGRAMS[name]])

    assert needs("segment on the event") == Needs(frozenset({"firstName"}), False, True, False)
    assert needs("a branch that is per person") == Needs(frozenset(), False, False, False)
    tagged = program(
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "t", "when": "contains(person.tags, 'x')"}],
        },
        variables=[{"name": "c", "type": "text", "default": "person.city"}],
    )
    assert entry_needs([tagged]) == Needs(frozenset({"city"}), True, False, False)
    assert entry_needs([tagged, PROGRAMS["assign and defaults"]]).phones
    zoned = program(entry={"type": "event", "event": "Cart", "where": "person.timezone == 'UTC'"})
    assert entry_needs([zoned]) is EVERYTHING


def test_evaluate_inbound_is_never_on_a_proved_path() -> None:
    """evaluate_inbound reads each person's own message: entries through it, and
    audience entries into it, are each person's step."""
    inbound = program(
        {
            "id": "ask",
            "type": "evaluate_inbound",
            "branches": [{"name": "yes", "keyword": "YES"}],
            "next": {"yes": "w", "otherwise": "w"},
        },
        {"id": "w", "type": "wait", "duration": "P1D"},
        entry={"type": "inbound", "channel": "sms", "number": "+385991234567"},
    )
    assert not inbound.handlers["ask"].uniform("enter")
    ana = Person(id=1, external_id="a", attributes={})
    message = {"channel": "sms", "to": "+385991234567", "text": "yes", "keyword": "YES"}
    assert EntryPlan(inbound, NOW).enter(ana, message) is None
    assert uniform_move(inbound, None, "enter", NOW) is None
