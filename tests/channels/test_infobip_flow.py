"""Infobip end to end: flows send through the loopback Infobip stand-in, which posts its
delivery reports back to the connection's webhook. WhatsApp with SMS failover delivers by
SMS when WhatsApp fails; a voice call's digits reach `collect.variable` and take the
`collected` outcome; a repeated report changes nothing; a report naming a message that
is not the connection's is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf
from tests.support.background import Background, started
from tidings.channels.standins.infobip import InfobipStandin

KEY = "infobip-test-key"


@pytest.fixture
def infobip() -> Iterator[tuple[InfobipStandin, Background]]:
    standin = InfobipStandin(api_key=KEY, fates={"whatsapp": "failed"}, voice_digits="42")
    with started(standin) as background:
        yield standin, background


def connect(api: Api, standin: InfobipStandin) -> dict[str, Any]:
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={
            "name": "Infobip",
            "provider": "infobip",
            "settings": {"baseUrl": standin.url, "apiKey": KEY},
            "default": True,
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def enter(api: Api, flow: int, external_id: str, phone: str) -> dict[str, Any]:
    person = {"externalId": external_id, "firstName": "Ana", "phones": [phone]}
    answer = api.post(f"/flows/{flow}/participants", json={"person": person})
    assert answer.status_code in (200, 201, 202), answer.text
    found: dict[str, Any] = api.get("/people", params={"externalId": external_id}).json()["items"][
        0
    ]
    return found


ONE_SMS = {
    "name": "One SMS",
    "entry": {"type": "api"},
    "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello"}],
}


def delivery_path(connection: dict[str, Any]) -> str:
    """The connection's delivery webhook, as the test client posts to it."""
    return "/api/v1" + connection["webhooks"]["delivery"].split("/api/v1", 1)[1]


def settle(api: Api, standin: InfobipStandin, background: Background) -> None:
    """The step and its sends, the reports posted back, and what they move."""
    drain(api)
    background.run(standin.drain())
    drain(api)


def names(api: Api, person_id: int) -> list[str]:
    items = api.get(f"/people/{person_id}/events").json()["items"]
    return [e["name"] for e in items]


FAILOVER = {
    "name": "WhatsApp, else SMS",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "f1",
            "type": "failover",
            "waitForDelivery": "PT1H",
            "attempts": [
                {
                    "type": "send_whatsapp",
                    "from": "+447860099299",
                    "text": "Hi {{ person.firstName }}",
                },
                {"type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }} (SMS)"},
            ],
            "next": {"delivered": "ok", "failed": "ko"},
        },
        {"id": "ok", "type": "update_profile", "addTags": ["reached"]},
        {"id": "ko", "type": "update_profile", "addTags": ["unreached"]},
    ],
}


def test_whatsapp_with_sms_failover_delivers_by_sms_when_whatsapp_fails(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    connect(api, standin)
    flow = launched(api, FAILOVER)["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)  # WhatsApp sent, its failure reported
    settle(api, standin, background)  # then the SMS, delivered
    sent = [(m["channel"], m["to"]) for m in standin.messages]
    assert sent == [("whatsapp", "385911234567"), ("sms", "385911234567")]
    assert [m["content"].get("text") for m in standin.messages][1] == "Hi Ana (SMS)"
    found = api.get(f"/people/{ana['id']}").json()
    assert "reached" in found["tags"]
    seen = names(api, ana["id"])
    assert "message.failed" in seen
    assert "message.delivered" in seen
    assert messages(api, flow) == []


VOICE = {
    "name": "Survey call",
    "entry": {"type": "api"},
    "variables": [{"name": "answer", "type": "text"}],
    "elements": [
        {
            "id": "call",
            "type": "voice_call",
            "from": "+385015551234",
            "say": "Press a number, {{ person.firstName }}",
            "language": "en",
            "collect": {"variable": "answer", "maxDigits": 2, "timeout": "PT5S"},
            "next": {"collected": "got", "answered": "plain", "notAnswered": "missed"},
        },
        {"id": "got", "type": "update_profile", "set": {"lastAnswer": "answer"}},
        {"id": "plain", "type": "update_profile", "addTags": ["answered"]},
        {"id": "missed", "type": "update_profile", "addTags": ["missed"]},
    ],
}


def test_a_voice_call_collects_digits_through_infobip(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    assert api.post("/attributes", json={"name": "lastAnswer", "type": "text"}).status_code in (
        200,
        201,
    )
    connect(api, standin)
    flow = launched(api, VOICE)["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)
    assert [m["channel"] for m in standin.messages] == ["voice"]
    found = api.get(f"/people/{ana['id']}").json()
    assert found["attributes"].get("lastAnswer") == "42"


def test_reports_are_idempotent_and_only_the_connections_own(
    api: Api, other_api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    flow = launched(api, ONE_SMS)["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)
    message_id = standin.messages[0]["messageId"]
    path = delivery_path(made)
    report = {
        "results": [
            {
                "messageId": message_id,
                "to": "385911234567",
                "status": {
                    "groupId": 3,
                    "groupName": "DELIVERED",
                    "id": 5,
                    "name": "DELIVERED_TO_HANDSET",
                    "description": "Message delivered to handset",
                },
                "price": {"pricePerMessage": 0.02, "currency": "EUR"},
            }
        ]
    }
    again = api.client.post(path, json=report)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] == 0
    drain(api)
    assert names(api, ana["id"]).count("message.delivered") == 1
    # another account's connection cannot report on this message
    assert other_api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    theirs = connect(other_api, standin)
    other_path = delivery_path(theirs)
    failed = {
        "results": [
            {
                **report["results"][0],
                "status": {
                    "groupId": 5,
                    "groupName": "REJECTED",
                    "id": 6,
                    "name": "REJECTED_NETWORK",
                    "description": "x",
                },
            }
        ]
    }
    refused = api.client.post(other_path, json=failed)
    assert refused.status_code == 404
    malformed = api.client.post(path, json={"results": [{"status": "nope"}]})
    assert 400 <= malformed.status_code < 500
    assert 400 <= api.client.post(path, content=b"not json").status_code < 500
    drain(api)
    assert "message.failed" not in names(api, ana["id"])


def test_an_audience_launch_sends_through_the_connection(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    """The store composes a launch's SMS (sql_sends.py); through a connection they are
    written pending for the provider's dispatcher, not handed to the sandbox."""
    standin, background = infobip
    connect(api, standin)
    for n in range(3):
        person = {
            "externalId": f"p{n}",
            "firstName": f"Ana{n}",
            "tags": ["vip"],
            "phones": [f"+38591123456{n}"],
        }
        assert api.post("/people", json=person).status_code == 201
    flow = launched(
        api,
        {
            "name": "Launch",
            "entry": {"type": "audience", "tags": ["vip"]},
            "elements": [
                {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}
            ],
        },
    )["id"]
    settle(api, standin, background)
    assert sorted(m["content"]["text"] for m in standin.messages) == [
        "Hi Ana0",
        "Hi Ana1",
        "Hi Ana2",
    ]
    assert messages(api, flow) == []
    assert perf(api, flow)["flow"]["messagesSent"] == 3


def test_a_dead_provider_holds_only_its_own_messages(
    api: Api, infobip: tuple[InfobipStandin, Background], closed_port: int
) -> None:
    """A connection whose provider does not answer is tried again with backoff and in
    the end fails its messages with the reason; another connection's go out meanwhile."""
    standin, background = infobip
    connect(api, standin)  # the default route, alive
    dead = api.post(
        "/connections",
        json={
            "name": "Dead",
            "provider": "infobip",
            "channels": ["sms"],
            "settings": {"baseUrl": f"http://127.0.0.1:{closed_port}", "apiKey": KEY},
        },
    ).json()
    flow = launched(
        api,
        {
            "name": "Two ways",
            "entry": {"type": "api"},
            "elements": [
                {
                    "id": "a",
                    "type": "send_sms",
                    "from": "Shop",
                    "text": "By the dead one",
                    "connection": dead["id"],
                    "next": "b",
                },
                {"id": "b", "type": "send_sms", "from": "Shop", "text": "By the live one"},
            ],
        },
    )["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)
    assert [m["content"]["text"] for m in standin.messages] == ["By the live one"]
    assert "message.failed" not in names(api, ana["id"])  # still being tried
    drain(api, "PT2H")  # every try, with backoff
    failed = [
        e
        for e in api.get(f"/people/{ana['id']}/events").json()["items"]
        if e["name"] == "message.failed"
    ]
    assert len(failed) == 1
    assert failed[0]["properties"]["element"] == "a"
    assert "gave up after 10 tries" in failed[0]["properties"]["reason"]


def test_reports_nobody_waits_for_are_kept_and_a_flow_entering_on_them_still_takes_them(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    """The webhook keeps a delivered report straight in the person's events when nobody
    waits for it (services/deliveries.py); while a flow enters on `message.delivered` the
    report goes to the engine and that flow takes the person. Either way the event, its
    properties and the flow's delivered figure are the same, and a repeated report
    changes nothing."""
    standin, background = infobip
    made = connect(api, standin)
    path = delivery_path(made)
    flow = launched(api, ONE_SMS)["id"]
    follow = launched(
        api,
        {
            "name": "Delivered",
            "entry": {"type": "event", "event": "message.delivered"},
            "elements": [{"id": "t", "type": "update_profile", "addTags": ["got-it"]}],
        },
    )["id"]
    ana = enter(api, flow, "ana", "+385911234567")
    settle(api, standin, background)
    assert "got-it" in api.get(f"/people/{ana['id']}").json()["tags"]
    assert api.post(f"/flows/{follow}/cancel").status_code == 200
    drain(api)
    bo = enter(api, flow, "bo", "+385911234568")
    settle(api, standin, background)
    assert "got-it" not in api.get(f"/people/{bo['id']}").json()["tags"]
    for person, sent in ((ana, standin.messages[0]), (bo, standin.messages[1])):
        events = api.get(f"/people/{person['id']}/events").json()["items"]
        delivered = [e for e in events if e["name"] == "message.delivered"]
        assert len(delivered) == 1
        assert delivered[0]["properties"] == {
            "flow": flow,
            "version": 1,
            "element": "s",
            "channel": "sms",
            "messageId": sent["messageId"],
        }
    assert perf(api, flow)["channels"]["sms"]["delivered"] == 2
    report = {
        "results": [
            {
                "messageId": standin.messages[1]["messageId"],
                "to": "385911234568",
                "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5,
                           "name": "DELIVERED_TO_HANDSET"},
            }
        ]
    }  # fmt: skip
    again = api.client.post(path, json=report)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] == 0
    drain(api)
    assert names(api, bo["id"]).count("message.delivered") == 1
    assert perf(api, flow)["channels"]["sms"]["delivered"] == 2


def _report(message_id: str, name: str, price: float) -> dict[str, Any]:
    group = (3, "DELIVERED") if name.startswith("DELIVERED") else (1, "PENDING")
    return {
        "messageId": message_id,
        "status": {"groupId": group[0], "groupName": group[1], "id": 5, "name": name},
        "price": {"pricePerMessage": price, "currency": "EUR"},
    }


def test_a_callbacks_prices_count_once_a_message_each_against_the_last(api: Api) -> None:
    """Reports that carry prices: the traffic cost takes each message's last price,
    also when one callback reports a message twice (the operator's, then the handset's),
    and sums the messages' prices."""
    standin = InfobipStandin(api_key=KEY, fates={"sms": "none"})  # reports come from here
    with started(standin):
        made = connect(api, standin)
        flow = launched(api, ONE_SMS)["id"]
        ana = enter(api, flow, "ana", "+385911234567")
        enter(api, flow, "ben", "+385911234568")
        drain(api)
        first, second = (m["messageId"] for m in standin.messages)
        path = delivery_path(made)
        results = [
            _report(first, "DELIVERED_TO_OPERATOR", 0.03),
            _report(first, "DELIVERED_TO_HANDSET", 0.02),
            _report(second, "DELIVERED_TO_HANDSET", 0.05),
        ]
        answer = api.client.post(path, json={"results": results})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"reports": 3, "changed": 2}
        drain(api)
        assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.07)
        # the same callback again (Infobip retries until answered) changes nothing
        assert api.client.post(path, json={"results": results}).json()["changed"] == 0
        drain(api)
        assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.07)
        assert names(api, ana["id"]).count("message.delivered") == 1
