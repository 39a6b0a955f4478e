"""Tracking and consent end to end, through an Infobip email connection: the email's links
lead through `/t/{token}` (a 302 to the original and `message.clicked` with its URL), its
open pixel records `message.seen` once, its unsubscribe link shows a page on GET and
unsubscribes on the one-click POST, after which the person's emails are not sent. A
scanner's prefetch right after sending is redirected but not counted; a wrong token is a
404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.channels.test_infobip_flow import KEY, connect
from tests.conftest import Api
from tests.engine.test_journeys import drain, perf
from tests.support.background import Background, started
from tidings.channels.standins.infobip import InfobipStandin

EMAIL = {
    "name": "Tracked email",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "mail",
            "type": "send_email",
            "from": "shop@example.com",
            "subject": "Your cart",
            "next": "wait",
            "html": '<html><body><p>Hi <a href="https://shop.example/cart?a=1&amp;b=2">cart</a>'
            ' <a href="mailto:help@shop.example">help</a></p></body></html>',
            "text": "Your cart: https://shop.example/cart?a=1&b=2.",
        },
        {
            "id": "wait",
            "type": "wait_for_event",
            "element": "mail",
            "event": "message.clicked",
            "timeout": "P1D",
            "next": {"event": "clicked", "timeout": "idle"},
        },
        {"id": "clicked", "type": "update_profile", "addTags": ["clicked"]},
        {"id": "idle", "type": "update_profile", "addTags": ["idle"]},
    ],
}


@pytest.fixture
def infobip() -> Iterator[tuple[InfobipStandin, Background]]:
    standin = InfobipStandin(api_key=KEY)
    with started(standin) as background:
        yield standin, background


def enter(api: Api, flow: int, external_id: str) -> dict[str, Any]:
    person = {"externalId": external_id, "emails": [f"{external_id}@example.com"]}
    assert api.post(f"/flows/{flow}/participants", json={"person": person}).status_code < 300
    found: dict[str, Any] = api.get("/people", params={"externalId": external_id}).json()["items"][
        0
    ]
    return found


def names(api: Api, person_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/people/{person_id}/events").json()["items"]
    return items


def path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_links_pixel_and_unsubscribe_of_an_email(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    connect(api, standin)
    flow = launched(api, EMAIL)["id"]
    ana = enter(api, flow, "ana")
    drain(api)
    background.run(standin.drain())
    sent = standin.messages[0]["content"]
    html, text = sent["html"], sent["text"]
    assert "https://shop.example/cart" not in html  # rewritten
    assert "mailto:help@shop.example" in html  # left alone
    clicks = re.findall(r'href="([^"]*/t/[^"]*)"', html)
    pixel = re.findall(r'<img src="([^"]*/t/[^"]*)"', html)
    unsubscribe = re.findall(r'href="([^"]*/u/[^"]*)"', html)
    assert len(clicks) == 1
    assert len(pixel) == 1
    assert len(unsubscribe) == 1
    assert "Unsubscribe:" in text
    assert text.count("/t/") == 1
    client = api.client

    # a scanner fetching the link right away is sent on, and not counted
    early = client.get(path(clicks[0]), follow_redirects=False)
    assert early.status_code == 302
    assert early.headers["location"] == "https://shop.example/cart?a=1&b=2"
    drain(api)
    assert not any(e["name"] == "message.clicked" for e in names(api, ana["id"]))

    drain(api, "PT5M")  # later, a person reads it and clicks
    late = client.get(path(clicks[0]), follow_redirects=False)
    assert late.status_code == 302
    text_click = re.findall(r"(http\S*/t/[A-Za-z0-9_-]+)", text)[0]
    assert client.get(path(text_click), follow_redirects=False).headers["location"] == (
        "https://shop.example/cart?a=1&b=2"
    )
    for _ in range(2):
        seen = client.get(path(pixel[0]))
        assert seen.status_code == 200
        assert seen.headers["content-type"] == "image/gif"
    drain(api)
    events = names(api, ana["id"])
    clicked = [e for e in events if e["name"] == "message.clicked"]
    assert len(clicked) == 2
    assert clicked[0]["properties"]["url"] == "https://shop.example/cart?a=1&b=2"
    assert sum(e["name"] == "message.seen" for e in events) == 1
    assert "clicked" in api.get(f"/people/{ana['id']}").json()["tags"]

    # unsubscribing: the GET only shows the page; the one-click POST unsubscribes
    page = client.get(path(unsubscribe[0]))
    assert page.status_code == 200
    assert "<button" in page.text
    assert api.get(f"/people/{ana['id']}").json()["unsubscribed"] == []
    done = client.post(path(unsubscribe[0]), content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    assert api.get(f"/people/{ana['id']}").json()["unsubscribed"] == ["email"]
    drain(api)
    assert any(e["name"] == "message.unsubscribed" for e in names(api, ana["id"]))

    # the next email to Ana is not sent; the trace says why
    second = launched(api, {**EMAIL, "name": "Second email"})["id"]
    enter(api, second, "ana")
    drain(api)
    background.run(standin.drain())
    assert len(standin.messages) == 1
    assert perf(api, second)["flow"]["sendsDropped"] == 1
    journeys = api.get(f"/people/{ana['id']}/journeys").json()
    words = str(journeys)
    assert "unsubscribed from email" in words


def test_a_wrong_token_finds_nothing(api: Api) -> None:
    for url in ("/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/u/not-a-token-at-all", "/t/x" * 1):
        answer = api.client.get(url, follow_redirects=False)
        assert answer.status_code in (404, 422)
    assert api.client.post("/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_sandbox_emails_carry_tracked_links_too(api: Api) -> None:
    flow = launched(api, {**EMAIL, "name": "Sandbox email"})["id"]
    ana = enter(api, flow, "ana")
    drain(api)
    sent = [m for m in api.get("/sandbox/messages", params={"flow": flow}).json()["items"]]
    assert len(sent) == 1
    html = sent[0]["html"]
    assert "https://shop.example/cart" not in html
    clicks = re.findall(r'href="([^"]*/t/[^"]*)"', html)
    assert len(clicks) == 1
    assert "/u/" in html
    drain(api, "PT5M")
    answer = api.client.get(path(clicks[0]), follow_redirects=False)
    assert answer.headers["location"] == "https://shop.example/cart?a=1&b=2"
    drain(api)
    assert any(e["name"] == "message.clicked" for e in names(api, ana["id"]))


def test_an_sms_with_track_links_carries_tracked_links(api: Api) -> None:
    document = {
        "name": "Tracked SMS",
        "entry": {"type": "api"},
        "elements": [
            {
                "id": "s",
                "type": "send_sms",
                "from": "Shop",
                "trackLinks": True,
                "text": "Your cart: https://shop.example/c/1 - see you",
            }
        ],
    }
    flow = launched(api, document)["id"]
    person = {"externalId": "ivo", "phones": ["+385911234567"]}
    assert api.post(f"/flows/{flow}/participants", json={"person": person}).status_code < 300
    drain(api)
    text = api.get("/sandbox/messages", params={"flow": flow}).json()["items"][0]["text"]
    assert "https://shop.example/c/1" not in text
    assert text.endswith(" - see you")
    link = re.findall(r"(http\S*/t/[A-Za-z0-9_-]+)", text)[0]
    answer = api.client.get(path(link), follow_redirects=False)
    assert answer.headers["location"] == "https://shop.example/c/1"


def test_an_unsubscribe_reported_by_infobip_takes_the_person_off_email(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    made = connect(api, standin)
    flow = launched(api, {**EMAIL, "name": "Reported unsubscribe"})["id"]
    ana = enter(api, flow, "ana")
    drain(api)
    background.run(standin.drain())
    message_id = standin.messages[0]["messageId"]
    path_ = "/api/v1" + made["webhooks"]["delivery"].split("/api/v1", 1)[1]
    event = {"notificationType": "UNSUBSCRIBED", "messageId": message_id, "domain": "shop"}
    for _ in range(2):  # Infobip may post it again: once is enough
        answer = api.client.post(path_, json=event)
        assert answer.status_code == 200, answer.text
    drain(api)
    assert api.get(f"/people/{ana['id']}").json()["unsubscribed"] == ["email"]
    assert sum(e["name"] == "message.unsubscribed" for e in names(api, ana["id"])) == 1
