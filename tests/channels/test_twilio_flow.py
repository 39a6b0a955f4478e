"""SMS through a Twilio connection, end to end: a flow sends through the loopback Twilio
stand-in, which posts signed status callbacks back to Tidings' webhook; the reports become
the person's message events and move the flow on. A 429 is tried again; a refusal is
`message.failed` with Twilio's reason. Nothing goes to the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages
from tests.support.background import Background, started
from tidings.channels.standins.twilio import TwilioStandin
from tidings.channels.twilio import signature

SID = "AC" + "1" * 32
TOKEN = "twilio-test-token"


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioStandin, Background]]:
    standin = TwilioStandin(account_sid=SID, auth_token=TOKEN, report_delay=0.0)
    with started(standin) as background:
        yield standin, background


def connect(api: Api, standin: TwilioStandin) -> dict[str, Any]:
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={
            "name": "Twilio",
            "provider": "twilio",
            "channels": ["sms"],
            "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
            "default": True,
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


FLOW = {
    "name": "Twilio SMS",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "sms1",
            "type": "send_sms",
            "from": "+15005550006",
            "text": "Hi {{ person.firstName }}",
            "next": "wait1",
        },
        {
            "id": "wait1",
            "type": "wait_for_event",
            "element": "sms1",
            "event": "message.delivered",
            "timeout": "P1D",
            "next": {"event": "yes", "timeout": "no"},
        },
        {"id": "yes", "type": "update_profile", "addTags": ["delivered"]},
        {"id": "no", "type": "update_profile", "addTags": ["not-delivered"]},
    ],
}


def enter(api: Api, flow: int, external_id: str, phone: str) -> None:
    person = {"externalId": external_id, "firstName": "Ana", "phones": [phone]}
    answer = api.post(f"/flows/{flow}/participants", json={"person": person})
    assert answer.status_code in (200, 201, 202), answer.text


def person(api: Api, external_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get("/people", params={"externalId": external_id}).json()["items"][
        0
    ]
    return found


def events(api: Api, person_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/people/{person_id}/events").json()["items"]
    return items


def test_an_sms_goes_out_through_twilio_and_its_report_moves_the_flow(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    connect(api, standin)
    flow = launched(api, FLOW)["id"]
    enter(api, flow, "ana", "+385911234567")
    drain(api)  # the step, and the send to Twilio (the virtual clock waits for its answer)
    assert [(m.to, m.body, m.from_) for m in standin.messages] == [
        ("+385911234567", "Hi Ana", "+15005550006")
    ]
    callback = standin.messages[0].status_callback or ""
    assert "/api/v1/webhooks/" in callback
    assert "m=" in callback
    background.run(standin.settle())  # its signed status callbacks reached us
    drain(api)
    ana = person(api, "ana")
    assert "delivered" in ana["tags"]
    names = [e["name"] for e in events(api, ana["id"])]
    assert "message.delivered" in names
    assert messages(api, flow) == []  # nothing went to the sandbox


def test_a_refused_number_fails_with_twilios_reason_and_a_429_is_tried_again(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    standin.blocked.add("+385910000000")
    connect(api, standin)
    flow = launched(api, FLOW)["id"]
    standin.fail_next(1, 429, retry_after=1.0)
    enter(api, flow, "ivo", "+385910000000")
    enter(api, flow, "eva", "+385912222222")
    drain(api)
    drain(api, "PT2S")  # the 429's Retry-After has passed: tried again
    assert {m.to for m in standin.messages} == {"+385912222222"}
    background.run(standin.settle())
    drain(api)
    ivo = person(api, "ivo")
    failed = [e for e in events(api, ivo["id"]) if e["name"] == "message.failed"]
    assert len(failed) == 1
    assert "21610" in failed[0]["properties"]["reason"]
    assert "delivered" in person(api, "eva")["tags"]


def test_a_repeated_report_changes_nothing(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    connect(api, standin)
    flow = launched(api, FLOW)["id"]
    enter(api, flow, "ana", "+385911234567")
    drain(api)
    background.run(standin.settle())
    drain(api)
    delivered_posts = [p for p in standin.posted if p.form.get("MessageStatus") == "delivered"]
    assert len(delivered_posts) == 1
    assert delivered_posts[0].status == 200
    post = delivered_posts[0]
    again = api.client.post(
        "/api/v1" + post.url.split("/api/v1", 1)[1],
        content=urlencode(post.form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(TOKEN, post.url, post.form),
        },
    )
    assert again.status_code == 200, again.text
    assert again.json()["changed"] == 0
    drain(api)
    ana = person(api, "ana")
    delivered = [e for e in events(api, ana["id"]) if e["name"] == "message.delivered"]
    assert len(delivered) == 1
    forged = api.client.post(
        "/api/v1" + post.url.split("/api/v1", 1)[1],
        content=urlencode({**post.form, "MessageStatus": "failed"}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(TOKEN, post.url, post.form),
        },
    )
    assert forged.status_code == 403
