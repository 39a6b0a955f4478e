"""Voice calls through a Twilio connection, end to end: a flow's `voice_call` goes out as a
`Calls.json` request with inline TwiML to the loopback Twilio stand-in, which requests the
`<Gather>` action (the digits) and then posts the `completed` status, both signed, to
Tidings' delivery webhook. The digits reach `collect.variable` and take the `collected`
outcome; the webhook answers the Gather action with TwiML; an unanswered call takes
`notAnswered`. Nothing goes to the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf
from tests.support.background import Background, started
from tidings.channels.standins.twilio import TwilioStandin
from tidings.channels.twilio import signature

SID = "AC" + "2" * 32
TOKEN = "twilio-voice-test-token"
UNANSWERED = "+385910000000"


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioStandin, Background]]:
    standin = TwilioStandin(
        account_sid=SID, auth_token=TOKEN, voice_digits="42", fates={UNANSWERED: "no-answer"}
    )
    with started(standin) as background:
        yield standin, background


def connect(api: Api, standin: TwilioStandin) -> dict[str, Any]:
    """The person attribute the flow sets, and a Twilio connection carrying voice."""
    attribute = api.post("/attributes", json={"name": "lastAnswer", "type": "text"})
    assert attribute.status_code in (200, 201), attribute.text
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={
            "name": "Twilio voice",
            "provider": "twilio",
            "channels": ["voice"],
            "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
            "default": True,
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


VOICE = {
    "name": "Call and ask",
    "entry": {"type": "api"},
    "variables": [{"name": "answer", "type": "text"}],
    "elements": [
        {
            "id": "call",
            "type": "voice_call",
            "from": "+15005550006",
            "say": "Press a number, {{ person.firstName }} & co",
            "language": "en",
            "collect": {"variable": "answer", "maxDigits": 2, "timeout": "PT5S"},
            "next": {"collected": "got", "answered": "plain", "notAnswered": "missed"},
        },
        {"id": "got", "type": "update_profile", "set": {"lastAnswer": "answer"}},
        {"id": "plain", "type": "update_profile", "addTags": ["answered"]},
        {"id": "missed", "type": "update_profile", "addTags": ["missed"]},
    ],
}


def enter(api: Api, flow: int, external_id: str, phone: str) -> dict[str, Any]:
    person = {"externalId": external_id, "firstName": "Ana", "phones": [phone]}
    answer = api.post(f"/flows/{flow}/participants", json={"person": person})
    assert answer.status_code in (200, 201, 202), answer.text
    found: dict[str, Any] = api.get("/people", params={"externalId": external_id}).json()["items"][
        0
    ]
    return found


def settle(api: Api, standin: TwilioStandin, background: Background) -> None:
    """The step and its call, the call's callbacks posted back, and what they move."""
    drain(api)
    background.run(standin.settle())
    drain(api)


def names(api: Api, person_id: int) -> list[str]:
    items = api.get(f"/people/{person_id}/events").json()["items"]
    return [e["name"] for e in items]


def test_a_voice_call_collects_digits_through_twilio(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)
    (placed,) = standin.messages
    assert (placed.channel, placed.to, placed.from_) == ("voice", "+385911234567", "+15005550006")
    assert placed.say == "Press a number, Ana & co"
    assert placed.gather is not None
    assert placed.gather.num_digits == 2
    assert "/api/v1/webhooks/" in (placed.gather.action or "")
    assert placed.statuses == ["gather", "completed"]
    gathered, completed = standin.posted
    assert gathered.form["Digits"] == "42"
    assert gathered.status == 200
    assert gathered.answer == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert (completed.form["CallStatus"], completed.status) == ("completed", 200)
    found = api.get(f"/people/{ana['id']}").json()
    assert found["attributes"].get("lastAnswer") == "42"
    assert "answered" not in found["tags"]
    assert names(api, ana["id"]).count("message.delivered") == 1
    assert messages(api, flow) == []  # nothing went to the sandbox


def test_an_unanswered_call_takes_not_answered(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    ivo = enter(api, flow, "ivo", UNANSWERED)
    settle(api, standin, background)
    (posted,) = standin.posted
    assert posted.form["CallStatus"] == "no-answer"
    found = api.get(f"/people/{ivo['id']}").json()
    assert "missed" in found["tags"]
    events = api.get(f"/people/{ivo['id']}/events").json()["items"]
    failed = [e for e in events if e["name"] == "message.failed"]
    assert [e["properties"]["reason"] for e in failed] == ["no-answer"]


def test_a_forged_gather_action_changes_nothing(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    standin.voice_digits = ""  # Ana presses nothing: the call is only answered
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    drain(api)
    (placed,) = standin.messages
    action = placed.gather.action if placed.gather else ""
    assert action
    path = "/api/v1" + action.split("/api/v1", 1)[1]
    form = {"CallSid": placed.sid, "CallStatus": "in-progress", "Digits": "99"}
    forged = api.client.post(
        path,
        content=urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature("not-the-token", action, form),
        },
    )
    assert forged.status_code == 403
    background.run(standin.settle())
    drain(api)
    found = api.get(f"/people/{ana['id']}").json()
    assert "answered" in found["tags"]
    assert found["attributes"].get("lastAnswer") is None


def test_an_answered_calls_price_is_fetched_once_it_ends_and_counted(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    standin.call_price = "-0.01300"  # Twilio writes prices negative
    standin.call_price_after = 1  # the first read after the call ended: not priced yet
    assert api.patch("/account", json={"prices": {"voice": 0.2}}).status_code == 200
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    enter(api, flow, "ana", "+385911234567")
    drain(api)
    assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.2)  # the table's
    background.run(standin.settle())  # the digits, then `completed`: the call ended
    drain(api)  # asked: Twilio has not priced it yet
    assert standin.price_fetches == 1
    assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.2)
    drain(api, "PT1M")  # asked again: priced
    assert standin.price_fetches == 2
    figures = perf(api, flow)
    assert figures["flow"]["trafficCost"] == pytest.approx(0.013)  # Twilio's replaces it
    assert figures["channels"]["voice"]["cost"] == pytest.approx(0.013)
    assert figures["elements"]["call"]["trafficCost"] == pytest.approx(0.013)
    # a repeated `completed` status asks nothing more, and nothing is counted twice
    (completed,) = [p for p in standin.posted if p.form.get("CallStatus") == "completed"]
    again = api.client.post(
        "/api/v1" + completed.url.split("/api/v1", 1)[1],
        content=urlencode(completed.form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(TOKEN, completed.url, completed.form),
        },
    )
    assert again.status_code == 200, again.text
    drain(api, "PT1M")
    assert standin.price_fetches == 2
    assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.013)


def test_an_unanswered_call_is_not_priced(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    standin.call_price = "-0.01300"
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    enter(api, flow, "ivo", UNANSWERED)
    settle(api, standin, background)
    drain(api, "PT1M")
    assert standin.price_fetches == 0
    assert perf(api, flow)["flow"]["trafficCost"] == 0
