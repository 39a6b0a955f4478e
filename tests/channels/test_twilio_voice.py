"""Voice calls through Twilio, end to end: the call's TwiML says the text and gathers
digits; Twilio's signed <Gather> action brings the digits back (answered with TwiML), so
the call takes `collected` and the variable holds them; a number that does not answer
takes `notAnswered`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain
from tests.support.background import Background, started
from tidings.channels.standins.twilio import TwilioStandin
from tidings.channels.twilio import signature

SID = "AC" + "3" * 32
TOKEN = "twilio-voice-token"
VOICE = {
    "name": "Survey call",
    "entry": {"type": "api"},
    "variables": [{"name": "answer", "type": "text"}],
    "elements": [
        {
            "id": "call",
            "type": "voice_call",
            "from": "+15005550006",
            "say": "Hello {{ person.firstName }} & friends, press a number",
            "language": "en-GB",
            "collect": {"variable": "answer", "maxDigits": 2, "timeout": "PT7S"},
            "next": {"collected": "got", "answered": "plain", "notAnswered": "missed"},
        },
        {"id": "got", "type": "update_profile", "set": {"lastAnswer": "answer"}},
        {"id": "plain", "type": "update_profile", "addTags": ["answered"]},
        {"id": "missed", "type": "update_profile", "addTags": ["missed"]},
    ],
}


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioStandin, Background]]:
    standin = TwilioStandin(
        account_sid=SID, auth_token=TOKEN, voice_digits="42", fates={"+385910000000": "failed"}
    )
    with started(standin) as background:
        yield standin, background


def person(api: Api, external_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get("/people", params={"externalId": external_id}).json()["items"][
        0
    ]
    return found


def test_a_call_gathers_digits_and_a_silent_number_is_not_answered(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    assert api.post("/attributes", json={"name": "lastAnswer", "type": "text"}).status_code == 201
    made = api.post(
        "/connections",
        json={
            "name": "Twilio voice",
            "provider": "twilio",
            "channels": ["voice"],
            "default": True,
            "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
        },
    )
    assert made.status_code == 201, made.text
    flow = launched(api, VOICE)["id"]
    for external_id, phone in (("ana", "+385911234567"), ("ivo", "+385910000000")):
        body = {"person": {"externalId": external_id, "firstName": "Ana", "phones": [phone]}}
        assert api.post(f"/flows/{flow}/participants", json=body).status_code < 300
    drain(api)
    background.run(standin.settle())
    drain(api)
    calls = {m.to: m for m in standin.messages}
    assert set(calls) == {"+385911234567", "+385910000000"}
    twiml = calls["+385911234567"].body or ""
    assert '<Say language="en-GB">Hello Ana &amp; friends, press a number</Say>' in twiml
    assert 'numDigits="2"' in twiml
    assert 'timeout="7"' in twiml
    assert person(api, "ana")["attributes"].get("lastAnswer") == "42"
    assert "missed" in person(api, "ivo")["tags"]
    gathers = [p for p in standin.posted if "Digits" in p.form]
    assert len(gathers) == 1
    assert gathers[0].status == 200


def test_a_gather_action_is_answered_with_twiml_and_forgery_is_refused(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    assert api.post("/attributes", json={"name": "lastAnswer", "type": "text"}).status_code == 201
    made = api.post(
        "/connections",
        json={
            "name": "Twilio voice",
            "provider": "twilio",
            "channels": ["voice"],
            "default": True,
            "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
        },
    ).json()
    flow = launched(api, VOICE)["id"]
    body = {"person": {"externalId": "eva", "phones": ["+385912345678"]}}
    assert api.post(f"/flows/{flow}/participants", json=body).status_code < 300
    drain(api)
    background.run(standin.settle())
    call = standin.messages[0]
    message_id = (call.status_callback or "").split("m=")[1]
    url = f"{made['webhooks']['delivery']}?m={message_id}&gather=1"
    form = {"CallSid": call.sid, "Digits": "7", "CallStatus": "in-progress"}
    path = "/api/v1" + url.split("/api/v1", 1)[1]
    answer = api.client.post(
        path, data=form, headers={"X-Twilio-Signature": signature(TOKEN, url, form)}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<Response>" in answer.text
    forged = api.client.post(
        path,
        data={**form, "Digits": "9"},
        headers={"X-Twilio-Signature": signature(TOKEN, url, form)},
    )
    assert forged.status_code == 403
