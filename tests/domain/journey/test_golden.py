"""Golden traces: (document, person, stimuli) -> effects and states, recorded as JSON.

Each file under `golden/` holds a whole recorded history: the inputs and what every step
gave. The test replays the inputs and compares, so a change that alters an old trace
fails here and is made on purpose. After such a deliberate change (or to add a case to
`CASES`), regenerate and review the diff:

    TIDINGS_GOLDEN=regenerate .venv/bin/pytest tests/domain/journey/test_golden.py
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.domain.journey.helpers import ANA, CART, FLOW, NOW, VERSION, fresh
from tidings.domain.durations import format_instant, parse_instant
from tidings.domain.journey import (
    Canceled,
    Entered,
    EventArrived,
    Person,
    ResultArrived,
    State,
    Stimulus,
    TimerDue,
    advance,
    compile_program,
)

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("TIDINGS_GOLDEN") == "regenerate"
STIMULI: dict[str, type[Any]] = {
    kind.__name__: kind for kind in (Entered, TimerDue, EventArrived, ResultArrived, Canceled)
}


def message(kind: str, element: str, **extra: Any) -> dict[str, Any]:
    props = {"flow": FLOW, "version": VERSION, "element": element, "channel": "sms", **extra}
    return {"type": "EventArrived", "name": f"message.{kind}", "properties": props}


def timer() -> dict[str, Any]:
    return {"type": "TimerDue"}


def result(element: str, outcome: str, **data: Any) -> dict[str, Any]:
    return {"type": "ResultArrived", "element": element, "outcome": outcome, "data": data}


def entered(variables: dict[str, Any] | None = None, **event: Any) -> dict[str, Any]:
    return {"type": "Entered", "variables": variables or {}, "event": event or None}


def event(name: str, **properties: Any) -> dict[str, Any]:
    return {"type": "EventArrived", "name": name, "properties": properties}


EXIT = {"id": "end", "type": "exit"}
ENGAGEMENT: dict[str, Any] = {
    "name": "Engagement",
    "timezone": "Europe/Zagreb",
    "entry": {"type": "api"},
    "variables": [
        {"name": "tier", "type": "text", "default": '"basic"'},
        {"name": "digits", "type": "integer"},
    ],
    "elements": [
        {
            "id": "crm",
            "type": "call_api",
            "url": "https://crm.example.com/{{ person.externalId }}",
            "assign": {"tier": "response.body.tier"},
            "next": {"success": "ab", "failure": "end"},
        },
        {
            "id": "ab",
            "type": "split",
            "branches": [{"name": "a", "percent": 50}, {"name": "b", "percent": 50}],
            "next": {"a": "fo", "b": "fo"},
        },
        {
            "id": "fo",
            "type": "failover",
            "waitForDelivery": "PT30M",
            "attempts": [
                {"type": "send_whatsapp", "from": "+38512", "text": "{{ tier }} offer"},
                {
                    "type": "send_sms",
                    "from": "Shop",
                    "text": "Your {{ tier }} offer, {{ person.firstName }}",
                },
            ],
            "next": {"delivered": "morning", "failed": "end"},
        },
        {"id": "morning", "type": "wait", "at": "09:30", "next": "call"},
        {
            "id": "call",
            "type": "voice_call",
            "from": "+38511",
            "say": "Press 1",
            "collect": {"variable": "digits"},
            "next": {"collected": "seg", "notAnswered": "end"},
        },
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "yes", "when": "digits == 1"}],
            "next": {"yes": "boss", "otherwise": "end"},
        },
        {
            "id": "boss",
            "type": "notify",
            "channel": "email",
            "to": '"sales@example.com"',
            "from": "flows@example.com",
            "subject": "{{ person.firstName }} said yes",
            "html": "<p>{{ tier }}</p>",
            "next": "end",
        },
        EXIT,
    ],
}
CLICKS: dict[str, Any] = {
    "name": "Clicks",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "from": "Shop",
            "text": "See {{ person.firstName }}",
            "next": "w",
        },
        {
            "id": "w",
            "type": "wait_for_event",
            "element": "sms1",
            "event": "message.clicked",
            "timeout": "P2D",
            "next": {"event": "tag", "timeout": "again"},
        },
        {"id": "again", "type": "wait", "duration": "PT1H", "next": "seg"},
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "seen", "when": 'delivered("sms1")'}],
            "next": {"seen": "tag", "otherwise": "end"},
        },
        {"id": "tag", "type": "update_profile", "addTags": ["engaged"], "next": "end"},
        EXIT,
    ],
}

# name -> (document, [(minutes after NOW, stimulus)])
CASES: dict[str, tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]] = {
    "cart_purchase": (
        CART,
        [(0, entered(cartValue=80)), (180, event("PurchaseFinished", amount=80))],
    ),
    "cart_timeout": (
        CART,
        [(0, entered(cartValue=120.5)), (600, timer()), (1440, timer())],
    ),
    "engagement": (
        ENGAGEMENT,
        [
            (0, entered()),
            (1, result("crm", "success", status=200, body={"tier": "gold"})),
            (2, result("fo", "failed", reason="no WhatsApp", attempt=0)),
            (20, timer()),  # not due: the SMS attempt waits until minute 2 + 30
            (25, result("fo", "delivered", attempt=1)),
            (1410, timer()),  # 09:30 in Zagreb on Tuesday is 08:30 UTC
            (1411, result("call", "collected", digits="1")),
        ],
    ),
    "clicks_timeout": (
        CLICKS,
        [
            (0, entered()),
            (5, message("delivered", "sms1", messageId="m1")),
            (6, message("seen", "sms1", flow=99)),
            (2880, timer()),
            (2940, timer()),
        ],
    ),
    "canceled": (CLICKS, [(0, entered()), (10, {"type": "Canceled", "reason": "flow canceled"})]),
}


def plain(value: Any) -> Any:
    """A value as JSON data: instants as text, tuples and sets as sorted lists."""
    if isinstance(value, datetime):
        return format_instant(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **data}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # the named-tuple values
        data = {name: plain(getattr(value, name)) for name in value._fields}
        return {"type": type(value).__name__, **data}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def stimulus_from(data: Mapping[str, Any], at: datetime) -> Stimulus:
    fields = {k: v for k, v in data.items() if k != "type"}
    if data["type"] == "EventArrived":
        fields["time"] = at
    made: Stimulus = STIMULI[data["type"]](**fields)
    return made


def person_from(data: Mapping[str, Any]) -> Person:
    return Person(
        id=data["id"],
        external_id=data["external_id"],
        attributes=data["attributes"],
        tags=frozenset(data["tags"]),
        phones=tuple(data["phones"]),
        emails=tuple(data["emails"]),
        timezone=data["timezone"],
    )


def replay(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    program = compile_program(record["document"], flow_id=FLOW, version=VERSION)
    state: State = fresh(person_from(record["person"]), parse_instant(record["start"]))
    steps = []
    for item in record["stimuli"]:
        at = parse_instant(item["at"])
        step = advance(program, state, stimulus_from(item["stimulus"], at), at)
        state = step.state
        steps.append({"at": item["at"], "effects": plain(step.effects), "state": plain(state)})
    return steps


def record_of(name: str) -> dict[str, Any]:
    document, stimuli = CASES[name]
    record: dict[str, Any] = {
        "document": document,
        "person": {k: v for k, v in plain(ANA).items() if k != "type"},
        "start": format_instant(NOW),
        "stimuli": [
            {"at": format_instant(NOW + timedelta(minutes=m)), "stimulus": s} for m, s in stimuli
        ],
    }
    record = json.loads(json.dumps(record))
    record["steps"] = replay(record)
    return record


def path_of(name: str) -> Path:
    return GOLDEN / f"{name}.json"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_is_recorded(name: str) -> None:
    record = record_of(name)
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        text = json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True)
        path_of(name).write_text(text + "\n", encoding="utf-8")
    assert path_of(name).exists(), f"no golden file for {name}: regenerate (see the docstring)"
    recorded = json.loads(path_of(name).read_text(encoding="utf-8"))
    inputs = ("document", "person", "start", "stimuli")
    assert {k: recorded[k] for k in inputs} == {k: record[k] for k in inputs}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_a_recorded_history_replays_the_same(path: Path) -> None:
    recorded = json.loads(path.read_text(encoding="utf-8"))
    replayed = json.loads(json.dumps(replay(recorded)))
    for i, (old, new) in enumerate(zip(recorded["steps"], replayed, strict=True)):
        assert new == old, f"step {i} at {old['at']} changed"
