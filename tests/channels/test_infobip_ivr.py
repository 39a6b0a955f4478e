"""Inbound calls in IVR through Infobip's Calls API, end to end: a person dials the number of
an `inbound` voice flow; the loopback Infobip stand-in posts CALL_RECEIVED to the
connection's inbound webhook, Tidings answers the call, the caller enters the flow (found or
created by phone), the flow's `voice_call` elements say their text and capture DTMF on the
live call, the digits feed `collect.variable` and the `collected` outcome, and Tidings
hangs up when the journey leaves its voice elements. A caller who hangs up early takes
`notAnswered`; a number belongs to one active voice flow; forged, malformed and repeated
call events change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched, new_flow
from tests.channels.test_infobip_flow import KEY, connect
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages
from tests.support.background import Background, started
from tidings.channels.standins.infobip import InfobipStandin
from tidings.channels.standins.infobip_calls import HANG_UP, SILENT, Call

NUMBER = "+385991000000"
CALLER = "+385911111111"
PROMPT = "Welcome. Press 1 to talk to us, 2 to get our address by text message."
IVR: dict[str, Any] = {
    "name": "Call us",
    "entry": {
        "type": "inbound",
        "channel": "voice",
        "number": NUMBER,
        "assign": {"caller": "event.from", "called": "event.to"},
    },
    "variables": [
        {"name": "choice", "type": "text"},
        {"name": "caller", "type": "text"},
        {"name": "called", "type": "text"},
    ],
    "elements": [
        {
            "id": "menu",
            "type": "voice_call",
            "from": NUMBER,  # the number it dials out from when the caller is gone
            "say": PROMPT,
            "language": "en",
            "collect": {"variable": "choice", "maxDigits": 1, "timeout": "PT5S"},
            "next": {"collected": "which", "answered": "bye", "notAnswered": "missed"},
        },
        {
            "id": "which",
            "type": "segment",
            "branches": [{"name": "text", "when": 'choice == "2"'}],
            "next": {"text": "address", "otherwise": "bye"},
        },
        {
            "id": "address",
            "type": "send_sms",
            "from": "Shop",
            "text": "Ilica 1, Zagreb (you called {{ called }} from {{ caller }})",
            "next": "bye",
        },
        {
            "id": "bye",
            "type": "voice_call",
            "from": NUMBER,
            "say": "Thank you, goodbye.",
            "language": "en",
        },
        {"id": "missed", "type": "update_profile", "addTags": ["hungUp"]},
    ],
}


@pytest.fixture
def infobip() -> Iterator[tuple[InfobipStandin, Background]]:
    standin = InfobipStandin(api_key=KEY)
    with started(standin) as background:
        yield standin, background


def dial(
    background: Background, standin: InfobipStandin, url: str, digits: list[str], caller: str
) -> Call:
    call = background.run(standin.calls.place_call(url, caller, NUMBER, digits=digits))
    assert call.posted == [("CALL_RECEIVED", 200)]
    return call


def settle(api: Api, standin: InfobipStandin, background: Background, rounds: int = 6) -> None:
    """Steps, the calls' requests, the events posted back and what they move, until quiet."""
    for _ in range(rounds):
        drain(api)
        background.run(standin.drain())


def person(api: Api, phone: str) -> dict[str, Any]:
    (found,) = api.get("/people", params={"phone": phone}).json()["items"]
    result: dict[str, Any] = api.get(f"/people/{found['id']}").json()
    return result


def events(api: Api, person_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/people/{person_id}/events").json()["items"]
    return items


def test_a_caller_hears_the_menu_presses_2_and_gets_a_text(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    flow = launched(api, IVR)["id"]
    call = dial(background, standin, made["webhooks"]["inbound"], ["2"], CALLER)
    settle(api, standin, background)

    # answered, the menu said while the digits are captured, goodbye said, hung up
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf", "say", "hangup"]
    capture = call.actions[1][1]
    assert capture["maxLength"] == 1
    assert capture["timeout"] == 5000  # milliseconds, as Infobip takes them
    assert capture["terminator"] == "#"
    assert capture["playContent"] == {"type": "TEXT", "text": PROMPT, "language": "en"}
    assert call.said == [PROMPT, "Thank you, goodbye."]
    assert call.actions[2][1] == {"text": "Thank you, goodbye.", "language": "en"}
    assert [kind for kind, _ in call.posted] == [
        "CALL_RECEIVED",
        "CALL_ESTABLISHED",
        "DTMF_CAPTURED",
        "SAY_FINISHED",
        "CALL_FINISHED",
    ]
    assert all(status == 200 for _, status in call.posted)
    assert call.state == "FINISHED"

    # the caller was created by phone, entered with event.from / event.to, keyed in 2
    ana = person(api, CALLER)
    received = [e for e in events(api, ana["id"]) if e["name"] == "message.received"]
    assert [(e["properties"]["channel"], e["properties"]["to"]) for e in received] == [
        ("voice", NUMBER)
    ]
    texts = [(m["channel"], m["to"], m["content"]["text"]) for m in standin.messages]
    assert texts == [
        ("sms", "385911111111", f"Ilica 1, Zagreb (you called {NUMBER} from {CALLER})")
    ]
    assert "hungUp" not in ana["tags"]
    names = [e["name"] for e in events(api, ana["id"])]
    assert names.count("message.delivered") >= 2  # the menu and the goodbye, on the call
    assert messages(api, flow) == []  # nothing dialled out, nothing in the sandbox
    (journey,) = api.get(f"/people/{ana['id']}/journeys").json()["journeys"]
    decided = [(s["element"], s["why"]) for s in journey["steps"] if s["what"] != "entered"]
    assert decided[:2] == [
        ("menu", "collected"),
        ("which", "segment 'text' matched: choice == \"2\""),
    ]
    assert ("bye", "answered") in decided
    assert journey["status"] == "exited"


def test_pressing_1_skips_the_text(api: Api, infobip: tuple[InfobipStandin, Background]) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, IVR)
    call = dial(background, standin, made["webhooks"]["inbound"], ["1"], "+385912222222")
    settle(api, standin, background)
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf", "say", "hangup"]
    assert standin.messages == []


def test_a_caller_who_keys_in_nothing_has_answered(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, IVR)
    call = dial(background, standin, made["webhooks"]["inbound"], [""], CALLER)
    settle(api, standin, background)
    captured = next(e for e in call.sent if e["type"] == "DTMF_CAPTURED")
    assert captured["properties"]["timeout"] is True
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf", "say", "hangup"]
    ana = person(api, CALLER)
    (journey,) = api.get(f"/people/{ana['id']}/journeys").json()["journeys"]
    assert ("menu", "answered") in [(s["element"], s["why"]) for s in journey["steps"]]
    assert standin.messages == []


def test_a_caller_who_hangs_up_early_takes_not_answered(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, IVR)
    call = dial(background, standin, made["webhooks"]["inbound"], [HANG_UP], CALLER)
    settle(api, standin, background)
    # the caller hung up during the menu: nothing more is said, and nobody hangs up again
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf"]
    assert [kind for kind, _ in call.posted][-1] == "CALL_FINISHED"
    ana = person(api, CALLER)
    assert "hungUp" in ana["tags"]
    failed = [e for e in events(api, ana["id"]) if e["name"] == "message.failed"]
    assert [e["properties"]["reason"] for e in failed] == ["the caller hung up"]
    assert standin.messages == []


def test_a_call_to_a_number_no_flow_takes_is_hung_up(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, {**IVR, "entry": {**IVR["entry"], "number": "+385990000009"}})
    call = dial(background, standin, made["webhooks"]["inbound"], ["2"], CALLER)
    settle(api, standin, background)
    assert [action for action, _ in call.actions] == ["hangup"]
    ana = person(api, CALLER)
    assert not any(e["name"] == "message.received" for e in events(api, ana["id"]))


def test_a_journey_that_waits_hangs_up_and_goes_on_later(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    document = {
        "name": "Call, then wait",
        "entry": {"type": "inbound", "channel": "voice", "number": NUMBER},
        "elements": [
            {
                "id": "hi",
                "type": "voice_call",
                "from": NUMBER,
                "say": "We will text you tomorrow.",
                "next": "w",
            },
            {"id": "w", "type": "wait", "duration": "P1D", "next": "sms"},
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Good morning"},
        ],
    }
    launched(api, document)
    call = dial(background, standin, made["webhooks"]["inbound"], [], CALLER)
    settle(api, standin, background)
    assert [action for action, _ in call.actions] == ["answer", "say", "hangup"]
    assert standin.messages == []
    drain(api, "P1D")
    background.run(standin.drain())
    assert [m["content"]["text"] for m in standin.messages] == ["Good morning"]
    assert [action for action, _ in call.actions] == ["answer", "say", "hangup"]


def test_a_call_whose_flow_is_canceled_is_hung_up(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    flow = launched(api, IVR)["id"]
    call = dial(background, standin, made["webhooks"]["inbound"], [SILENT], CALLER)
    settle(api, standin, background)
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf"]  # listening
    assert api.post(f"/flows/{flow}/cancel").status_code == 200
    settle(api, standin, background, rounds=2)
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf"]  # not yet
    drain(api, "PT2M")  # a minute with nothing on the call, and nobody at a voice element
    background.run(standin.drain())
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf", "hangup"]
    assert call.state == "FINISHED"


def test_a_number_belongs_to_one_active_voice_flow(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, _ = infobip
    connect(api, standin)
    launched(api, IVR)
    second = new_flow(api, {**IVR, "name": "Another IVR"})
    refused = api.post(f"/flows/{second['id']}/launch")
    assert refused.status_code == 409, refused.text
    details = refused.json()["error"]["details"]
    assert any(d["field"] == "entry.number" for d in details), details
    # a call has no keyword
    keyed = new_flow(
        api,
        {
            **IVR,
            "name": "Keyed",
            "entry": {**IVR["entry"], "number": "+385990000001", "keyword": "JOIN"},
        },
    )
    refused = api.post(f"/flows/{keyed['id']}/launch")
    assert refused.status_code == 409, refused.text
    assert any(d["field"] == "entry.keyword" for d in refused.json()["error"]["details"])
    # the same number on SMS is another channel: it may run
    sms = {**IVR, "name": "SMS", "entry": {"type": "inbound", "channel": "sms", "number": NUMBER}}
    sms["elements"] = [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"}]
    sms["variables"] = []
    launched(api, sms)


def post_event(api: Api, url: str, body: Any, content_type: str = "application/json") -> Any:
    path = "/api/v1" + url.split("/api/v1", 1)[1]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.post(path, content=data, headers={"Content-Type": content_type})


def test_forged_malformed_and_repeated_call_events_change_nothing(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, IVR)
    inbound = made["webhooks"]["inbound"]
    call = dial(background, standin, inbound, ["2"], CALLER)
    settle(api, standin, background)
    assert len(standin.messages) == 1
    ana = person(api, CALLER)
    before = events(api, ana["id"])

    # repeated events, exactly as posted (Infobip retries): taken, nothing changes
    for index in range(len(call.sent)):
        assert background.run(standin.calls.repost(call.id, index)) == 200
    settle(api, standin, background, rounds=2)
    assert [action for action, _ in call.actions] == ["answer", "capture/dtmf", "say", "hangup"]
    assert len(standin.messages) == 1
    assert events(api, ana["id"]) == before
    assert len(api.get(f"/people/{ana['id']}/journeys").json()["journeys"]) == 1

    captured = next(e for e in call.sent if e["type"] == "DTMF_CAPTURED")
    # an event of a call this connection never received: 404
    forged = {**captured, "callId": "not-a-call", "timestamp": "2026-01-05T00:00:01.000+0000"}
    assert post_event(api, inbound, forged).status_code == 404
    # the same call through another connection's webhook: 404 (a call is its connection's)
    other = api.post(
        "/connections",
        json={
            "name": "Infobip 2",
            "provider": "infobip",
            "channels": ["sms"],
            "settings": {"baseUrl": standin.url, "apiKey": KEY},
        },
    ).json()
    moved = {**captured, "timestamp": "2026-01-05T00:00:02.000+0000"}
    assert post_event(api, other["webhooks"]["inbound"], moved).status_code == 404
    # an unknown token: 404
    wrong = inbound.rsplit("/", 2)[0] + "/" + "x" * 32 + "/inbound"
    assert post_event(api, wrong, moved).status_code == 404
    # malformed: 4xx naming the field, never 5xx
    received = call.sent[0]
    bad: list[tuple[Any, str]] = [
        ({"type": 5, "callId": call.id}, "type"),
        ({"type": "DTMF_CAPTURED"}, "callId"),
        ({"type": "DTMF_CAPTURED", "callId": ["x"]}, "callId"),
        ({**captured, "properties": {"dtmf": 2}}, "properties.dtmf"),
        ({**captured, "properties": {"dtmf": "2", "timeout": "no"}}, "properties.timeout"),
        ({**captured, "properties": "x"}, "properties"),
        ({**received, "callId": "new-call", "properties": {}}, "properties.call"),
        (
            {**received, "callId": "new-call", "properties": {"call": {"to": "1"}}},
            "properties.call.from",
        ),
        (
            {
                **received,
                "callId": "new-call",
                "properties": {"call": {**received["properties"]["call"], "id": "other"}},
            },
            "properties.call.id",
        ),
    ]
    for body, field in bad:
        answer = post_event(api, inbound, body)
        assert answer.status_code == 422, (body, answer.text)
        assert [d["field"] for d in answer.json()["error"]["details"]] == [field]
    assert post_event(api, inbound, b"{not json").status_code in (400, 422)
    settle(api, standin, background, rounds=2)
    assert len(standin.messages) == 1
    assert events(api, ana["id"]) == before
    assert api.get("/people", params={"phone": "+385911234000"}).json()["items"] == []
