"""Inbound calls in IVR through a Twilio connection, end to end: a person dials the number of
an `inbound` voice flow; the loopback Twilio stand-in posts the signed incoming-call webhook
to the connection's inbound webhook, which answers TwiML that keeps the caller on the line;
the caller enters the flow, each `voice_call` element is a live-call update (`<Say>` then a
`<Redirect>` that reports it, or a `<Gather>` whose action brings the digits back), the
digits feed `collect.variable` and `collected`, and Tidings hangs up (`Status=completed`)
when the journey leaves its voice elements. A caller who hangs up early takes
`notAnswered`; a call no flow takes is rejected; forged, malformed and repeated call
webhooks change nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.api.flows.helpers import launched
from tests.channels.test_infobip_ivr import IVR, NUMBER, PROMPT, events, person
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages
from tests.support.background import Background, started
from tidings.channels.standins.twilio import TwilioStandin
from tidings.channels.standins.twilio_calls import HANG_UP, SILENT, Call
from tidings.channels.twilio import signature

SID = "AC" + "3" * 32
TOKEN = "twilio-ivr-test-token"
CALLER = "+385911111111"


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioStandin, Background]]:
    standin = TwilioStandin(account_sid=SID, auth_token=TOKEN)
    with started(standin) as background:
        yield standin, background


def connect(api: Api, standin: TwilioStandin) -> dict[str, Any]:
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={
            "name": "Twilio",
            "provider": "twilio",
            "channels": ["sms", "voice"],
            "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
            "default": True,
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def dial(
    background: Background, standin: TwilioStandin, url: str, digits: list[str], caller: str
) -> Call:
    call = background.run(standin.calls.place_call(url, caller, NUMBER, digits=digits))
    assert call.posted == [("voice", 200)]
    return call


def settle(api: Api, standin: TwilioStandin, background: Background, rounds: int = 6) -> None:
    """Steps, the live-call updates, the requests the call makes back, until quiet."""
    for _ in range(rounds):
        drain(api)
        background.run(standin.calls.drain())
        background.run(standin.settle())


def updates(call: Call) -> list[str]:
    """Each live-call update, as what it asked for."""
    out = []
    for form in call.updates:
        document = form.get("Twiml", "")
        if "Status" in form:
            out.append(f"status:{form['Status']}")
        elif "<Gather" in document:
            out.append("gather")
        else:
            out.append("say")
    return out


def test_a_caller_hears_the_menu_presses_2_and_gets_a_text(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    flow = launched(api, IVR)["id"]
    inbound = made["webhooks"]["inbound"]
    call = dial(background, standin, inbound, ["2"], CALLER)
    # the webhook answered TwiML that keeps the caller on the line
    assert "<Pause" in call.answers[0]
    assert f"{inbound}?wait=1" in call.answers[0]
    settle(api, standin, background)

    assert updates(call) == ["gather", "say", "status:completed"]
    (gather,) = call.gathers
    assert gather["numDigits"] == "1"
    assert gather["timeout"] == "5"
    assert gather["actionOnEmptyResult"] == "true"
    assert gather["action"].startswith(f"{inbound}?m=")
    assert call.said == [PROMPT, "Thank you, goodbye."]
    assert call.posted == [("voice", 200), ("gather", 200), ("redirect", 200), ("status", 200)]
    assert call.errors == []
    assert call.state == "completed"

    ana = person(api, CALLER)
    received = [e for e in events(api, ana["id"]) if e["name"] == "message.received"]
    assert [(e["properties"]["channel"], e["properties"]["to"]) for e in received] == [
        ("voice", NUMBER)
    ]
    texts = [(m.channel, m.to, m.body) for m in standin.messages]
    assert texts == [("sms", CALLER, f"Ilica 1, Zagreb (you called {NUMBER} from {CALLER})")]
    names = [e["name"] for e in events(api, ana["id"])]
    assert names.count("message.delivered") >= 2  # the menu and the goodbye, on the call
    assert "hungUp" not in ana["tags"]
    assert messages(api, flow) == []  # nothing dialled out, nothing in the sandbox
    (journey,) = api.get(f"/people/{ana['id']}/journeys").json()["journeys"]
    decided = [(s["element"], s["why"]) for s in journey["steps"] if s["what"] != "entered"]
    assert decided[:2] == [
        ("menu", "collected"),
        ("which", "segment 'text' matched: choice == \"2\""),
    ]
    assert ("bye", "answered") in decided
    assert journey["status"] == "exited"


def test_pressing_1_skips_the_text_and_the_caller_waits_on_the_line(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    launched(api, IVR)
    inbound = made["webhooks"]["inbound"]
    call = dial(background, standin, inbound, ["1"], "+385912222222")
    # the pause is over before the engine spoke: Twilio asks again and is kept waiting
    standin.calls.resume(call.sid)
    background.run(standin.calls.drain())
    assert call.posted == [("voice", 200), ("redirect", 200)]
    assert "<Pause" in call.answers[1]
    assert "wait=1" in call.answers[1]
    settle(api, standin, background)
    assert updates(call) == ["gather", "say", "status:completed"]
    assert standin.messages == []
    assert call.state == "completed"


def test_a_caller_who_keys_in_nothing_has_answered(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    launched(api, IVR)
    call = dial(background, standin, made["webhooks"]["inbound"], [""], CALLER)
    settle(api, standin, background)
    assert updates(call) == ["gather", "say", "status:completed"]
    assert ("gather", 200) in call.posted  # actionOnEmptyResult: the action came, empty
    ana = person(api, CALLER)
    (journey,) = api.get(f"/people/{ana['id']}/journeys").json()["journeys"]
    assert ("menu", "answered") in [(s["element"], s["why"]) for s in journey["steps"]]
    assert standin.messages == []


def test_a_caller_who_hangs_up_early_takes_not_answered(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    launched(api, IVR)
    call = dial(background, standin, made["webhooks"]["inbound"], [HANG_UP], CALLER)
    settle(api, standin, background)
    # the caller hung up during the menu: nothing more is said, and nobody hangs up again
    assert updates(call) == ["gather"]
    assert call.posted[-1] == ("status", 200)
    ana = person(api, CALLER)
    assert "hungUp" in ana["tags"]
    failed = [e for e in events(api, ana["id"]) if e["name"] == "message.failed"]
    assert [e["properties"]["reason"] for e in failed] == ["the caller hung up"]
    assert standin.messages == []
    # a number whose "Call status changes" is not set: the update's StatusCallback tells
    ivo = "+385913333333"
    call = background.run(
        standin.calls.place_call(
            made["webhooks"]["inbound"], ivo, NUMBER, digits=[HANG_UP], status_callback=None
        )
    )
    settle(api, standin, background)
    assert updates(call) == ["gather"]
    assert call.updates[0]["StatusCallback"] == made["webhooks"]["inbound"]
    assert call.posted[-1] == ("status", 200)
    assert "hungUp" in person(api, ivo)["tags"]


def test_a_call_to_a_number_no_flow_takes_is_rejected(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    launched(api, {**IVR, "entry": {**IVR["entry"], "number": "+385990000009"}})
    call = dial(background, standin, made["webhooks"]["inbound"], ["2"], CALLER)
    settle(api, standin, background)
    assert "<Reject/>" in call.answers[0]
    assert call.state == "busy"
    assert call.updates == []
    ana = person(api, CALLER)
    assert not any(e["name"] == "message.received" for e in events(api, ana["id"]))


def test_a_journey_that_waits_hangs_up_and_goes_on_later(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
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
    assert updates(call) == ["say", "status:completed"]
    assert call.said == ["We will text you tomorrow."]
    assert standin.messages == []
    drain(api, "P1D")
    assert [m.body for m in standin.messages] == ["Good morning"]
    assert updates(call) == ["say", "status:completed"]


def test_a_call_whose_flow_is_canceled_is_hung_up(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    flow = launched(api, IVR)["id"]
    call = dial(background, standin, made["webhooks"]["inbound"], [SILENT], CALLER)
    settle(api, standin, background)
    assert updates(call) == ["gather"]  # listening
    assert api.post(f"/flows/{flow}/cancel").status_code == 200
    drain(api, "PT2M")  # a minute with nothing on the call, and nobody at a voice element
    background.run(standin.calls.drain())
    assert updates(call) == ["gather", "status:completed"]
    assert call.state == "completed"


def post_call(api: Api, url: str, form: dict[str, str], token: str | None = TOKEN) -> Any:
    path = "/api/v1" + url.split("/api/v1", 1)[1]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["X-Twilio-Signature"] = signature(token, url, form)
    return api.client.post(path, content=urlencode(form), headers=headers)


def test_forged_malformed_and_repeated_call_webhooks_change_nothing(
    api: Api, twilio: tuple[TwilioStandin, Background]
) -> None:
    standin, background = twilio
    made = connect(api, standin)
    launched(api, IVR)
    inbound = made["webhooks"]["inbound"]
    call = dial(background, standin, inbound, ["2"], CALLER)
    settle(api, standin, background)
    assert len(standin.messages) == 1
    ana = person(api, CALLER)
    before = events(api, ana["id"])
    ringing = standin.calls.form(call, "ringing")
    gather_url = call.gathers[0]["action"]

    # unsigned, or signed with another token: 403, nothing changes
    fresh = {**ringing, "CallSid": "CA" + "9" * 32, "From": "+385919999999"}
    assert post_call(api, inbound, fresh, token=None).status_code == 403
    assert post_call(api, inbound, fresh, token="not-the-token").status_code == 403
    # signed for another URL (a replay of the gather to the plain webhook): 403
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(TOKEN, gather_url, ringing),
    }
    path = "/api/v1" + inbound.split("/api/v1", 1)[1]
    assert api.client.post(path, content=urlencode(ringing), headers=headers).status_code == 403
    assert api.get("/people", params={"phone": "+385919999999"}).json()["items"] == []

    # repeated requests, exactly as Twilio posted them: answered, nothing changes
    again = post_call(api, inbound, ringing)
    assert again.status_code == 200, again.text
    assert again.headers["content-type"].startswith("text/xml")
    assert "<Pause" not in again.text  # the call has ended: nothing keeps it on the line
    gathered = {**standin.calls.form(call, "in-progress"), "Digits": "2"}
    gathered.update({"FinishedOnKey": "", "msg": "Gather End"})
    assert post_call(api, gather_url, gathered).status_code == 200
    settle(api, standin, background, rounds=2)
    assert len(standin.messages) == 1
    assert events(api, ana["id"]) == before
    assert len(api.get(f"/people/{ana['id']}/journeys").json()["journeys"]) == 1

    # a call this connection never received: a report of it is 404; a wait is hung up
    unknown = {**gathered, "CallSid": "CA" + "8" * 32}
    assert post_call(api, gather_url, unknown).status_code == 404
    waiting = post_call(api, f"{inbound}?wait=1", {**unknown, "CallStatus": "in-progress"})
    assert waiting.status_code == 200
    assert "<Hangup/>" in waiting.text
    # malformed: 4xx naming the field, never 5xx
    bad: list[tuple[str, dict[str, str], str]] = [
        (inbound, {**fresh, "CallStatus": "dancing"}, "CallStatus"),
        (inbound, {**fresh, "CallSid": ""}, "CallSid"),
        (inbound, {**fresh, "From": ""}, "From"),
        (inbound, {**fresh, "To": ""}, "To"),
        (inbound, {**fresh, "Direction": "outbound-api"}, "Direction"),
        (gather_url, {**gathered, "Digits": "2x"}, "Digits"),
        (f"{inbound}?gather=1", gathered, "m"),
    ]
    for url, form, field in bad:
        answer = post_call(api, url, form)
        assert answer.status_code == 422, (form, answer.text)
        assert [d["field"] for d in answer.json()["error"]["details"]] == [field]
    settle(api, standin, background, rounds=2)
    assert len(standin.messages) == 1
    assert events(api, ana["id"]) == before
    assert api.get("/people", params={"phone": "+385919999999"}).json()["items"] == []


@pytest.mark.anyio
async def test_the_stand_in_checks_live_call_updates_as_twilio_does() -> None:
    """Basic auth, the documented fields, a call the account has and that is in progress."""
    async with TwilioStandin(account_sid=SID, auth_token=TOKEN) as standin:
        placed = Call("CA" + "1" * 32, CALLER, NUMBER, "http://127.0.0.1:9/x", None, [])
        placed.state = "in-progress"
        standin.calls.calls[placed.sid] = placed
        basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        say = '<Response><Say>Hi</Say><Pause length="10"/></Response>'

        async def update(form: dict[str, str], sid: str = placed.sid, auth: str = basic) -> Any:
            url = f"{standin.url}/2010-04-01/Accounts/{SID}/Calls/{sid}.json"
            headers = {"Authorization": f"Basic {auth}"}
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, data=form, headers=headers) as answer,
            ):
                return answer.status, await answer.json()

        wrong = base64.b64encode(f"{SID}:nope".encode()).decode()
        assert (await update({"Twiml": say}, auth=wrong))[1]["code"] == 20003
        assert (await update({"Twiml": say}, sid="CA" + "2" * 32))[0] == 404
        assert (await update({"Twiml": "<Say>no root</Say>"}))[1]["code"] == 12100
        assert (await update({"Twiml": say, "Colour": "red"}))[0] == 400
        assert (await update({"Status": "ringing"}))[0] == 400
        assert (await update({"Twiml": say, "StatusCallback": "ftp://x"}))[1]["code"] == 21609
        assert placed.updates == []
        status, resource = await update({"Twiml": say})
        assert (status, resource["sid"]) == (200, placed.sid)
        await standin.calls.drain()
        assert placed.said == ["Hi"]
        assert placed.waiting  # on the pause
        assert (await update({"Status": "completed"}))[0] == 200
        assert placed.state == "completed"
        assert (await update({"Twiml": say}))[1]["code"] == 21220  # no longer in progress
