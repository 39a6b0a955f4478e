"""Inbound messages through the providers' webhooks, end to end: an SMS to the account's
number finds (or creates) its person by phone, becomes `message.received`, enters the
`inbound` flow of that number and keyword, and the flow's reply goes out through the same
provider. A repeated callback is taken once; STOP unsubscribes the sender from SMS;
Twilio's inbound webhook is signed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.channels.test_infobip_flow import KEY, connect
from tests.conftest import Api
from tests.engine.test_journeys import drain
from tests.support.background import Background, started
from tidings.channels.standins.infobip import InfobipStandin
from tidings.channels.standins.twilio import TwilioStandin

NUMBER = "+385991000000"
FLOW = {
    "name": "Join by SMS",
    "entry": {"type": "inbound", "channel": "sms", "number": NUMBER, "keyword": "JOIN"},
    "variables": [{"name": "said", "type": "text"}],
    "elements": [
        {
            "id": "read",
            "type": "evaluate_inbound",
            "assign": {"text": "said"},
            "branches": [{"name": "vip", "regex": "\\bvip\\b"}],
            "next": {"vip": "vip", "otherwise": "hello"},
        },
        {"id": "vip", "type": "send_sms", "from": "Shop", "text": "VIP welcome: {{ said }}"},
        {"id": "hello", "type": "send_sms", "from": "Shop", "text": "Welcome: {{ said }}"},
    ],
}


@pytest.fixture
def infobip() -> Iterator[tuple[InfobipStandin, Background]]:
    standin = InfobipStandin(api_key=KEY)
    with started(standin) as background:
        yield standin, background


def people_with(api: Api, phone: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/people", params={"phone": phone}).json()["items"]
    return found


def test_an_inbound_sms_enters_its_flow_and_gets_a_reply(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    launched(api, FLOW)
    inbound = made["webhooks"]["inbound"]
    status = background.run(
        standin.post_inbound(
            inbound, "sms", "+385911111111", NUMBER, "join vip please", message_id="in-1"
        )
    )
    assert status == 200
    drain(api)
    drain(api)
    ana = people_with(api, "+385911111111")
    assert len(ana) == 1  # created by phone
    events = api.get(f"/people/{ana[0]['id']}/events").json()["items"]
    received = [e for e in events if e["name"] == "message.received"]
    assert len(received) == 1
    assert received[0]["properties"]["keyword"] == "JOIN"
    assert received[0]["properties"]["to"] == NUMBER
    replies = [(m["to"], m["content"]["text"]) for m in standin.messages]
    assert replies == [("385911111111", "VIP welcome: join vip please")]

    # the same callback again (Infobip retries): taken once
    assert (
        background.run(
            standin.post_inbound(
                inbound, "sms", "+385911111111", NUMBER, "join vip please", message_id="in-1"
            )
        )
        == 200
    )
    # another keyword, or another number: no entry
    background.run(standin.post_inbound(inbound, "sms", "+385912222222", NUMBER, "hello"))
    background.run(standin.post_inbound(inbound, "sms", "+385913333333", "+385990000001", "join"))
    drain(api)
    drain(api)
    assert len(standin.messages) == 1
    events = api.get(f"/people/{ana[0]['id']}/events").json()["items"]
    assert sum(e["name"] == "message.received" for e in events) == 1


def test_stop_unsubscribes_the_sender_from_sms(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    person = {"externalId": "ivo", "phones": ["+385914444444"]}
    assert api.post("/people", json=person).status_code == 201
    background.run(
        standin.post_inbound(made["webhooks"]["inbound"], "sms", "+385914444444", NUMBER, "Stop")
    )
    drain(api)
    ivo = api.get("/people", params={"externalId": "ivo"}).json()["items"][0]
    assert ivo["unsubscribed"] == ["sms"]
    flow = launched(
        api,
        {
            "name": "Promo",
            "entry": {"type": "api"},
            "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Sale!"}],
        },
    )["id"]
    assert (
        api.post(f"/flows/{flow}/participants", json={"person": {"externalId": "ivo"}}).status_code
        < 300
    )
    drain(api)
    assert standin.messages == []
    events = api.get(f"/people/{ivo['id']}/events").json()["items"]
    assert any(e["name"] == "message.unsubscribed" for e in events)


SID = "AC" + "2" * 32
TOKEN = "twilio-inbound-token"


def test_a_twilio_inbound_message_is_signed_and_received(api: Api) -> None:
    standin = TwilioStandin(account_sid=SID, auth_token=TOKEN, report_delay=0.0)
    with started(standin) as background:
        assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
        made = api.post(
            "/connections",
            json={
                "name": "Twilio",
                "provider": "twilio",
                "channels": ["sms"],
                "settings": {"baseUrl": standin.url, "accountSid": SID, "authToken": TOKEN},
            },
        ).json()
        status = background.run(
            standin.post_inbound(
                made["webhooks"]["inbound"], "+385915555555", NUMBER, "Hi there", "sms"
            )
        )
        assert status == 200
        drain(api)
        eva = people_with(api, "+385915555555")
        assert len(eva) == 1
        events = api.get(f"/people/{eva[0]['id']}/events").json()["items"]
        assert [e["properties"]["text"] for e in events if e["name"] == "message.received"] == [
            "Hi there"
        ]
        unsigned = api.client.post(
            "/api/v1" + made["webhooks"]["inbound"].split("/api/v1", 1)[1],
            content=b"From=%2B385916666666&To=%2B385991000000&Body=x&MessageSid=SM1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 403
