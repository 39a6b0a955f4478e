"""Test run in real Chromium: from the canvas, the open flow runs on a virtual clock in a
throwaway system; the counts show on the nodes and sample messages in the panel, and
nothing reaches the account."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Api, Console, shot, sign_in

pytestmark = pytest.mark.slow  # a real server and a real browser

VIP: dict[str, Any] = {
    "name": "VIP greeting",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "hello",
            "name": "Hello",
            "type": "send_sms",
            "from": "Shop",
            "text": "Hi {{ person.firstName }}",
            "next": "isvip",
        },
        {
            "id": "isvip",
            "name": "VIP?",
            "type": "segment",
            "branches": [{"name": "vip", "when": "person.vip == true"}],
            "next": {"vip": "gift", "otherwise": "nudge"},
        },
        {"id": "gift", "name": "Gift", "type": "send_sms", "from": "Shop", "text": "A gift"},
        {
            "id": "nudge",
            "name": "Nudge",
            "type": "send_email",
            "from": "shop@example.com",
            "subject": "Come back, {{ person.firstName }}",
            "html": "<p>We miss you</p>",
        },
    ],
}


def node(page: Any, name: str) -> Any:
    return page.get_by_role("group", name=name, exact=True)


def test_a_test_run_shows_counts_on_the_nodes_and_sample_messages(page: Any, api: Api) -> None:
    api.call("POST", "/attributes", 201, json={"name": "vip", "type": "boolean"})
    flow = api.call("POST", "/flows", 201, json=VIP)
    sign_in(page, api.key, f"/flows/{flow['id']}")

    page.get_by_role("button", name="Test run", exact=True).click()
    panel = page.get_by_role("complementary", name="Test run")
    panel.get_by_label("People", exact=True).fill("20")
    panel.get_by_label("Days").fill("2")
    panel.get_by_role("button", name="Run").click()

    expect(node(page, "Entry: Flow API")).to_contain_text("Test run: 20 entered")
    expect(node(page, "Hello")).to_contain_text("Test run: 20 entered · 20 sent")
    expect(node(page, "VIP?")).to_contain_text("Test run: 20 entered")
    expect(node(page, "Gift")).to_contain_text("Test run: 0 entered")
    expect(node(page, "Nudge")).to_contain_text("Test run: 20 entered · 20 sent")
    samples = panel.get_by_role("list", name="Sample messages")
    sms = samples.get_by_role("listitem").filter(has_text="Hello")
    expect(sms).to_contain_text("SMS to +38591")
    expect(sms).to_contain_text("Hi ")
    expect(samples.get_by_role("listitem").filter(has_text="Nudge")).to_contain_text("Come back")
    expect(panel).to_contain_text("20 people over 2 days: 20 entered")
    shot(page, "test_run")

    # the throwaway system's people and messages never reach the account
    assert api.call("GET", "/people")["items"] == []
    assert api.call("GET", "/sandbox/messages")["items"] == []
    assert api.call("GET", f"/flows/{flow['id']}")["status"] == "draft"

    # the counts go with the panel
    panel.get_by_role("button", name="Close panel").click()
    expect(node(page, "Hello")).not_to_contain_text("Test run")


def test_a_test_run_of_uploaded_people_by_keyboard(page: Any, api: Api) -> None:
    api.call("POST", "/attributes", 201, json={"name": "vip", "type": "boolean"})
    flow = api.call("POST", "/flows", 201, json=VIP)
    sign_in(page, api.key, f"/flows/{flow['id']}")

    toggle = page.get_by_role("button", name="Test run", exact=True)
    toggle.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Test run")
    csv = (
        "externalId,firstName,phone,vip\n"
        "ana,Ana,+385911111111,true\n"
        "ivo,Ivo,+385912222222,true\n"
        "eva,Eva,+385913333333,false\n"
    )
    panel.get_by_label("Upload people (CSV)").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    expect(panel).to_contain_text("3 people from people.csv")
    expect(panel.get_by_label("People", exact=True)).to_be_disabled()
    days = panel.get_by_label("Days")
    days.fill("1")
    days.press("Enter")  # the form submits from the keyboard

    expect(node(page, "Hello")).to_contain_text("Test run: 3 entered · 3 sent")
    expect(node(page, "Gift")).to_contain_text("Test run: 2 entered · 2 sent")
    expect(node(page, "Nudge")).to_contain_text("Test run: 1 entered")
    texts = panel.get_by_role("list", name="Sample messages")
    expect(texts.get_by_role("listitem").filter(has_text="Gift")).to_contain_text("A gift")

    # Escape-free way out by keyboard: the toggle closes the panel and the counts go
    toggle.focus()
    page.keyboard.press("Enter")
    expect(node(page, "Gift")).not_to_contain_text("Test run")


def test_a_flow_with_problems_says_them_instead_of_running(
    page: Any, api: Api, console: Console
) -> None:
    console.allow(r"status of 422")  # the problems, answered on the panel
    api.call("POST", "/attributes", 201, json={"name": "vip", "type": "boolean"})
    broken = {**VIP, "elements": [{**VIP["elements"][0], "from": None}, *VIP["elements"][1:]]}
    flow = api.call("POST", "/flows", 201, json=broken)
    sign_in(page, api.key, f"/flows/{flow['id']}")

    page.get_by_role("button", name="Test run", exact=True).click()
    panel = page.get_by_role("complementary", name="Test run")
    panel.get_by_label("People", exact=True).fill("5")
    panel.get_by_role("button", name="Run").click()
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("the flow does not validate")
    expect(alert).to_contain_text("Hello — Sender")
    expect(node(page, "Hello")).not_to_contain_text("Test run")
