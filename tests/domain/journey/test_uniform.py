"""`uniform_move`: which stimuli move everyone at an element alike, and where to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tidings.domain.journey import Phase, compile_program
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import uniform_move

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def program(*elements: dict[str, Any], **settings: Any) -> Program:
    doc = {
        "name": "u",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "settings": settings,
        "elements": list(elements),
    }
    return compile_program(doc, flow_id=3, version=2)


def test_a_fixed_wait_then_a_wait_for_an_event_is_the_same_for_everyone() -> None:
    p = program(
        {"id": "w", "type": "wait", "duration": "P1D", "next": "e"},
        {"id": "e", "type": "wait_for_event", "event": "Ping", "timeout": "P2D"},
    )
    move = uniform_move(p, "w", "timer", NOW)
    assert move is not None
    assert (move.phase, move.element, move.waiting_for) == (Phase.waiting, "e", "Ping")
    assert move.wake_at == NOW + timedelta(days=2)
    assert move.visited == ("e",)
    assert ("e", "waiting for", "Ping until 2026-03-03T08:00:00Z") in move.lines

    done = uniform_move(p, "e", "event", NOW, "Ping")
    assert done is not None
    assert (done.phase, done.exit_reason) == (Phase.exited, "completed")
    assert [c.name for c in done.counts] == ["profilesExited"]


def test_a_path_that_reads_the_person_is_not_uniform() -> None:
    sends = program(
        {"id": "w", "type": "wait", "duration": "P1D", "next": "s"},
        {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"},
    )
    assert uniform_move(sends, "w", "timer", NOW) is None
    until = program(
        {"id": "w", "type": "wait", "duration": "P1D", "next": "u"},
        {"id": "u", "type": "wait", "at": "09:00"},
    )
    assert uniform_move(until, "w", "timer", NOW) is None  # the person's zone decides
    branch = program(
        {"id": "w", "type": "wait", "duration": "P1D", "next": "seg"},
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "a", "when": "person.firstName == 'Ana'"}],
            "next": {"a": "x", "otherwise": "x"},
        },
        {"id": "x", "type": "exit"},
    )
    assert uniform_move(branch, "w", "timer", NOW) is None


def test_events_with_a_condition_a_goal_or_a_message_are_not_uniform() -> None:
    where = program(
        {"id": "e", "type": "wait_for_event", "event": "Ping", "where": "event.n > 1"},
    )
    assert uniform_move(where, "e", "event", NOW, "Ping") is None
    assert uniform_move(where, "e", "timer", NOW) is not None  # its timeout is
    goal = program(
        {"id": "e", "type": "wait_for_event", "event": "Ping", "timeout": "P1D"},
        goal={"event": "Ping"},
    )
    assert uniform_move(goal, "e", "event", NOW, "Ping") is None
    plain = program({"id": "e", "type": "wait_for_event", "event": "Ping"})
    assert uniform_move(plain, "e", "event", NOW, "message.delivered") is None
    assert uniform_move(plain, "e", "event", NOW, "Pong") is None  # not awaited: no move


def test_an_entry_is_uniform_when_no_default_reads_the_person() -> None:
    plain = program({"id": "w", "type": "wait", "duration": "PT2H"})
    move = uniform_move(plain, None, "enter", NOW)
    assert move is not None
    assert (move.phase, move.element, move.wake_at) == (
        Phase.waiting,
        "w",
        NOW + timedelta(hours=2),
    )
    assert [c.name for c in move.counts] == ["profilesInFlow", "totalEngagements"]
    assert move.lines[0] == (None, "entered", None)

    doc_with_default = {
        "name": "d",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "variables": [{"name": "who", "type": "text", "default": "person.firstName"}],
        "elements": [{"id": "w", "type": "wait", "duration": "PT2H"}],
    }
    defaulted = compile_program(doc_with_default, flow_id=3, version=2)
    assert uniform_move(defaulted, None, "enter", NOW) is None
    sends = program({"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"})
    assert uniform_move(sends, None, "enter", NOW) is None


def test_an_entry_that_sends_composes_each_persons_message() -> None:
    from tidings.domain.journey import Person
    from tidings.domain.journey.uniform import personal_sends

    sends = program(
        {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"},
    )
    assert uniform_move(sends, None, "enter", NOW) is None  # not without `sends`
    move = uniform_move(sends, None, "enter", NOW, sends=True)
    assert move is not None
    assert move.sends == ("s",)
    assert "messagesSent" not in [c.name for c in move.counts]  # each person's parts
    ana = Person(id=7, external_id="ana", attributes={"firstName": "Ana"}, phones=("+3859",))
    (message,) = personal_sends(sends, move, ana, NOW) or ()
    assert (message.to, dict(message.content), message.parts) == ("+3859", {"text": "Hi Ana"}, 1)
    nobody = Person(id=8, external_id="x", attributes={})
    assert personal_sends(sends, move, nobody, NOW) is None  # no phone: their own step

    empty = program({"id": "s", "type": "send_sms", "from": "Shop", "text": "{{ person.x }}"})
    assert uniform_move(empty, None, "enter", NOW, sends=True) is None  # goes for nobody
    windowed = program(
        {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"},
        sendWindow={"days": ["mon"], "from": "09:00", "to": "17:00"},
    )
    assert uniform_move(windowed, None, "enter", NOW, sends=True) is None
