"""The web app in real Chromium, as a marketer uses it: by role and name, never CSS classes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Api, Console, shot, sign_in

pytestmark = pytest.mark.slow  # a real server and a real browser


def test_sign_in_refuses_a_wrong_key_and_remembers_a_right_one(
    page: Any, api: Api, console: Console
) -> None:
    console.allow(r"status of 401")
    page.goto("/")
    page.get_by_label("API key").fill("tdk_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    page.get_by_label("API key").fill(api.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="All communications")).to_be_visible()
    expect(page.get_by_label("Account")).to_have_text(re.compile(r"^Shop test_sign_in"))

    # a reload, or a link to a flow, does not ask again
    flow = api.call("POST", "/flows", 201, json={"template": "cart-abandonment"})
    page.goto(f"/flows/{flow['id']}")
    expect(page.get_by_label("Flow name")).to_have_value("Cart abandonment")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    page.reload()
    expect(page.get_by_label("API key")).to_be_visible()


def test_all_communications_searches_filters_and_pages(page: Any, api: Api) -> None:
    for n in range(23):
        api.call("POST", "/flows", 201, json={"name": f"Promo {n:02}", "entry": {"type": "api"}})
    launched = api.call("POST", "/flows", 201, json={"template": "welcome-message"})
    api.call("POST", f"/flows/{launched['id']}/launch")
    sign_in(page, api.key)

    rows = page.get_by_role("table", name="Flows").get_by_role("row")
    expect(rows).to_have_count(21)  # the header and a page of 20
    welcome = rows.filter(has_text="Welcome message")
    expect(welcome).to_contain_text("active")

    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    page.get_by_role("searchbox", name="Search").fill("Promo 07")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Promo 07")
    expect(rows.nth(1)).to_contain_text("draft")

    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Status").select_option("active")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Welcome message")


def test_a_template_by_its_title_then_duplicate_and_delete_from_the_menu(
    page: Any, api: Api
) -> None:
    sign_in(page, api.key)
    page.get_by_role("button", name="Create flow").click()
    page.get_by_role("dialog", name="Create flow").get_by_role("button", name="Win-back").click()
    expect(page.get_by_label("Flow name")).to_have_value("Win-back")
    expect(page).to_have_url(re.compile(r"/flows/\d+$"))
    page.get_by_role("link", name="All communications").first.click()

    page.get_by_role("button", name="Actions for Win-back").click()
    page.get_by_role("menuitem", name="Duplicate").click()
    rows = page.get_by_role("table", name="Flows").get_by_role("row")
    expect(rows).to_have_count(3)

    page.once("dialog", lambda d: d.accept("Our win-back"))
    page.get_by_role("button", name="Actions for Win-back").first.click()
    page.get_by_role("menuitem", name="Save as template").click()
    expect(page.get_by_role("status")).to_have_text("Saved Our win-back as a template.")
    page.get_by_role("button", name="Create flow").click()
    create = page.get_by_role("dialog", name="Create flow")
    expect(create.get_by_role("button", name="Our win-back")).to_be_visible()
    create.get_by_role("button", name="Cancel").click()

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Actions for Win-back").first.click()
    page.get_by_role("menuitem", name="Delete").click()
    expect(rows).to_have_count(2)
    assert len(api.call("GET", "/flows")["items"]) == 1


def test_cart_abandonment_from_scratch_to_the_sms_in_messages_sent(page: Any, api: Api) -> None:
    """The issue's quality bar, by clicking: entry, SMS, wait for event, email; validate,
    launch, an event and the virtual clock through the API, and the SMS in Messages sent."""
    for event in ("CartAbandoned", "PurchaseFinished"):  # the People schema knows the events
        api.call("POST", "/event-definitions", 201, json={"name": event, "properties": {}})
    sign_in(page, api.key)
    page.get_by_role("button", name="Create flow").click()
    dialog = page.get_by_role("dialog", name="Create flow")
    dialog.get_by_role("button", name="Start from scratch").click()
    dialog.get_by_label("Flow name").fill("Cart rescue")
    dialog.get_by_role("radio", name="People real-time event").check()
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/flows/\d+$"))
    expect(page.get_by_label("Flow name")).to_have_value("Cart rescue")
    flow_id = int(page.url.rsplit("/", 1)[1])

    side = page.get_by_role("complementary", name="Element settings")
    page.get_by_role("group", name="Entry: People real-time event").get_by_role(
        "button"
    ).first.click()
    side.get_by_label("Event", exact=True).fill("CartAbandoned")

    def add(after: str, element: str) -> None:
        exit_ = page.get_by_role("group", name=f"Exit after {after}", exact=True)
        exit_.get_by_role("button", name="Add element").click()
        page.get_by_role("menuitem", name=element, exact=True).click()

    add("Entry", "SMS")
    expect(page.get_by_role("group", name="SMS", exact=True)).to_be_visible()
    side.get_by_label("Text", exact=True).fill("Hi {{ person.firstName }}, your cart is waiting")
    add("SMS", "Wait for event")
    side.get_by_label("Event", exact=True).fill("PurchaseFinished")
    side.get_by_label("Timeout").fill("P1D")
    add("Wait for event, timeout", "Email")
    side.get_by_label("Sender").fill("shop@example.com")
    side.get_by_label("Subject").fill("Still thinking?")
    side.get_by_label("HTML").fill("<p>Your cart is still waiting.</p>")

    page.get_by_role("button", name="Validate").click()
    problems = page.get_by_role("region", name="Problems")
    expect(problems).to_contain_text("SMS — Sender: enter a sender")
    sms = page.get_by_role("group", name="SMS", exact=True)
    expect(sms).to_contain_text("1 problem")
    shot(page, "canvas-validate")

    sms.get_by_role("button").click()
    side.get_by_label("Sender").fill("ShopCo")
    expect(problems).to_contain_text("No problems")
    expect(sms).not_to_contain_text("problem")
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text("All changes saved")

    page.get_by_role("button", name="Launch").click()
    expect(page.get_by_role("heading", name="Launch Cart rescue")).to_be_visible()
    expect(page.get_by_text("CartAbandoned")).to_be_visible()
    page.get_by_role("button", name="Launch now").click()
    expect(page.get_by_label("Status")).to_have_text("active")

    api.call(
        "POST",
        "/people",
        json={"externalId": "ana", "firstName": "Ana", "phones": ["+385911234567"]},
        expect=201,
    )
    api.call(
        "POST",
        "/events",
        202,
        json=[{"person": {"externalId": "ana"}, "name": "CartAbandoned", "properties": {}}],
    )
    api.call("POST", "/clock/advance", json={"by": "PT1M"})

    page.get_by_role("link", name="Messages sent").click()
    messages = page.get_by_role("table", name="Messages sent")
    sms_row = messages.get_by_role("row").filter(has_text="Hi Ana, your cart is waiting")
    expect(sms_row).to_contain_text("sms")
    expect(sms_row).to_contain_text("+385911234567")
    expect(sms_row).to_contain_text("ShopCo")
    assert api.call("GET", f"/sandbox/messages?flow={flow_id}")["items"][0]["channel"] == "sms"

    # back on the canvas, the element shows its figures
    page.goto(f"/flows/{flow_id}")
    expect(page.get_by_role("group", name="SMS", exact=True)).to_contain_text("Messages sent 1")


def test_performance_versions_and_settings_of_a_launched_flow(page: Any, api: Api) -> None:
    for event, properties in (("CartAbandoned", "cartValue"), ("PurchaseFinished", "amount")):
        definition = {"name": event, "properties": {properties: "decimal"}}
        api.call("POST", "/event-definitions", 201, json=definition)
    flow = api.call("POST", "/flows", 201, json={"template": "cart-abandonment"})
    document = api.call("GET", f"/flows/{flow['id']}/document")
    del document["settings"]["sendWindow"]  # sends at once, whatever the virtual time
    api.call("PUT", f"/flows/{flow['id']}/document", json=document)
    api.call("POST", f"/flows/{flow['id']}/launch")
    api.call("POST", "/people", 201, json={"externalId": "ivo", "phones": ["+385911111111"]})
    api.call(
        "POST",
        "/events",
        202,
        json=[
            {
                "person": {"externalId": "ivo"},
                "name": "CartAbandoned",
                "properties": {"cartValue": 80},
            }
        ],
    )
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    sign_in(page, api.key, f"/flows/{flow['id']}")

    page.get_by_role("button", name="View flow performance").click()
    figures = page.get_by_label("Flow highlights")
    expect(figures).to_contain_text("Profiles in flow")
    expect(figures.get_by_text("Messages sent").locator("xpath=..")).to_contain_text("1")
    table = page.get_by_role("table", name="Element performance")
    expect(table.get_by_role("row").filter(has_text="Reminder SMS")).to_contain_text("1")
    expect(page.get_by_role("group", name="Reminder SMS", exact=True)).to_contain_text(
        "Messages sent 1"
    )
    # the channels' figures and the flow figures by day (the last point is today's)
    channels = page.get_by_role("table", name="Channel performance")
    expect(channels.get_by_role("columnheader", name="SMS")).to_be_visible()
    expect(channels.get_by_role("row", name="Sent").get_by_role("cell").first).to_have_text("1")
    expect(page.get_by_role("img", name="Flow figures by day: a line chart")).to_be_visible()
    today = page.get_by_role("table", name="Flow figures by day").get_by_role("row").last
    expect(today.get_by_role("cell").first).to_have_text("1")  # profiles in flow today
    page.get_by_label("Show by").select_option("hour")
    expect(page.get_by_role("img", name="Flow figures by hour: a line chart")).to_be_visible()
    shot(page, "performance-view")

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert api.call("GET", f"/flows/{flow['id']}")["status"] == "paused"
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    # goal and schedule of the running version change in place
    page.get_by_role("button", name="Flow settings").click()
    running = page.get_by_role("complementary", name="Flow settings")
    expect(running.get_by_label("Time zone", exact=True)).to_be_disabled()
    running.get_by_label("Goal value").fill("event.amount * 2")
    running.get_by_role("button", name="Save goal and schedule to version 1").click()
    expect(running.get_by_role("status")).to_have_text("Saved to version 1.")
    goal = api.call("GET", f"/flows/{flow['id']}")["document"]["settings"]["goal"]
    assert goal == {"event": "PurchaseFinished", "value": "event.amount * 2"}

    page.get_by_role("button", name="View all versions").click()
    versions = page.get_by_role("table", name="Versions")
    expect(versions.get_by_role("row").nth(1)).to_contain_text("active")
    page.get_by_role("button", name="Create new version").click()
    expect(page.get_by_label("Status")).to_have_text("draft")
    expect(page.get_by_label("Flow name")).to_be_editable()

    page.get_by_role("button", name="Flow settings").click()
    settings = page.get_by_role("complementary", name="Flow settings")
    settings.get_by_label("Goal event").fill("CartAbandoned")
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text("All changes saved")
    document = api.call("GET", f"/flows/{flow['id']}/document")
    assert document["settings"]["goal"]["event"] == "CartAbandoned"
    versions = api.call("GET", f"/flows/{flow['id']}/versions")
    assert [v["status"] for v in versions] == ["active", "draft"]


def test_the_canvas_is_keyboard_reachable(page: Any, api: Api) -> None:
    flow = api.call("POST", "/flows", 201, json={"name": "Keys", "entry": {"type": "api"}})
    page.goto(f"/flows/{flow['id']}")
    page.get_by_label("API key").focus()
    page.keyboard.type(api.key)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Flow name")).to_have_value("Keys")

    def focused() -> str:
        name: str = page.evaluate(
            "() => document.activeElement?.getAttribute('aria-label')"
            " || document.activeElement?.textContent || ''"
        )
        return name

    for _ in range(60):
        page.keyboard.press("Tab")
        if focused() == "Add element":
            break
    else:
        raise AssertionError("Tab never reached Add element")
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="SMS", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Email", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    email = page.get_by_role("group", name="Email", exact=True)
    expect(email).to_be_visible()
    side = page.get_by_role("complementary", name="Element settings")
    expect(side.get_by_label("Subject")).to_be_visible()
    side.get_by_role("group", name="Placeholders").first.get_by_role(
        "button", name="Insert {{ person.firstName }}"
    ).click()
    expect(side.get_by_label("HTML")).to_have_value("{{ person.firstName }}")

    page.get_by_role("button", name="Undo").click()  # the placeholder
    expect(side.get_by_label("HTML")).to_have_value("")
    page.get_by_role("button", name="Undo").click()  # the element
    expect(email).to_have_count(0)
    page.keyboard.press("Control+Shift+Z")
    expect(email).to_be_visible()


def test_people_search_and_a_profile_with_its_journey(page: Any, api: Api) -> None:
    api.call("POST", "/event-definitions", 201, json={"name": "Signup", "properties": {}})
    document = {
        "name": "Hello",
        "entry": {"type": "event", "event": "Signup"},
        "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Hello"}],
    }
    flow = api.call("POST", "/flows", 201, json=document)
    api.call("POST", f"/flows/{flow['id']}/launch")
    person = {"externalId": "mia", "firstName": "Mia", "phones": ["+385912222222"]}
    api.call("POST", "/people", 201, json={**person, "tags": ["vip"]})
    api.call("POST", "/people", 201, json={"externalId": "leo", "firstName": "Leo"})
    api.call("POST", "/events", 202, json=[{"person": {"externalId": "mia"}, "name": "Signup"}])
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    sign_in(page, api.key)

    page.get_by_role("link", name="People").click()
    rows = page.get_by_role("table", name="People").get_by_role("row")
    expect(rows).to_have_count(3)
    page.get_by_label("Find by").select_option(label="Tag")
    page.get_by_role("searchbox", name="Search people").fill("vip")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("link", name="Mia").click()

    expect(page.get_by_role("heading", name="Mia")).to_be_visible()
    journey = page.get_by_role("article", name="Journey in Hello")
    expect(journey).to_contain_text("sms1")
    events = page.get_by_role("table", name="Events")
    expect(events).to_contain_text("Signup")
    expect(events).to_contain_text("message.delivered")


def test_a_segment_s_branches_are_its_outcomes_on_the_canvas(page: Any, api: Api) -> None:
    flow = api.call("POST", "/flows", 201, json={"name": "Branches", "entry": {"type": "api"}})
    sign_in(page, api.key, f"/flows/{flow['id']}")
    exit_ = page.get_by_role("group", name="Exit after Entry", exact=True)
    exit_.get_by_role("button", name="Add element").click()
    page.get_by_role("menuitem", name="Segment", exact=True).click()

    side = page.get_by_role("complementary", name="Element settings")
    side.get_by_label("Branch 1 name").fill("VIP")
    side.get_by_label("Branch 1 when").fill("person.country == 'HR'")
    side.get_by_role("button", name="Add branch").click()
    side.get_by_label("Branch 2 name").fill("Others in EU")
    for outcome in ("VIP", "Others in EU", "otherwise"):
        expect(page.get_by_role("group", name=f"Exit after Segment, {outcome}")).to_be_visible()

    page.get_by_role("group", name="Exit after Segment, VIP").get_by_role(
        "button", name="Add element"
    ).click()
    page.get_by_role("menuitem", name="SMS", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text("All changes saved")
    segment = api.call("GET", f"/flows/{flow['id']}/document")["elements"][0]
    assert segment["branches"][0] == {"name": "VIP", "when": "person.country == 'HR'"}
    assert segment["next"] == {"VIP": "sms1"}


def test_a_flow_too_big_to_fit_opens_at_its_entry_point(page: Any, api: Api) -> None:
    elements: list[dict[str, Any]] = []
    for i in range(120):
        nxt = f"e{i + 1}"
        if i % 2:
            elements.append(
                {"id": f"e{i}", "type": "wait_for_event", "event": "Buy", "next": {"event": nxt}}
            )
        else:
            elements.append({"id": f"e{i}", "type": "wait", "duration": "PT1H", "next": nxt})
    elements[-1].pop("next")
    document = {"name": "Long", "entry": {"type": "api"}, "elements": elements}
    flow = api.call("POST", "/flows", 201, json=document)
    sign_in(page, api.key, f"/flows/{flow['id']}")
    expect(page.get_by_role("group", name="Entry: Flow API")).to_be_in_viewport()
    expect(page.get_by_role("group", name="Wait", exact=True).first).to_be_in_viewport()


def test_replace_an_element_in_place_keeps_its_links_and_name(page: Any, api: Api) -> None:
    flow = api.call("POST", "/flows", 201, json={"template": "cart-abandonment"})
    before = api.call("GET", f"/flows/{flow['id']}/document")
    sign_in(page, api.key, f"/flows/{flow['id']}")
    page.get_by_role("group", name="Reminder SMS", exact=True).click()
    side = page.get_by_role("complementary", name="Element settings")
    side.get_by_label("Replace with").select_option(label="WhatsApp")
    side.get_by_role("button", name="Replace element").click()
    expect(side.get_by_text("WhatsApp · id")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text("All changes saved")

    document = api.call("GET", f"/flows/{flow['id']}/document")
    sms = next(e for e in before["elements"] if e["type"] == "send_sms")
    replaced = next(e for e in document["elements"] if e["type"] == "send_whatsapp")
    assert replaced["name"] == "Reminder SMS"
    assert replaced.get("next") == sms.get("next")
    assert "text" not in replaced  # the fields of another type do not carry over
    assert all(e["type"] != "send_sms" for e in document["elements"])
    assert sms["id"] not in str(document)  # nothing points at the old element any more
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_have_text("All changes saved")
    document = api.call("GET", f"/flows/{flow['id']}/document")
    assert any(e["type"] == "send_sms" for e in document["elements"])


def test_a_running_real_time_audience_changes_in_place(
    page: Any, api: Api, console: Console
) -> None:
    console.allow(r"status of 422")  # the unknown segment, answered on the panel
    api.call("POST", "/people", 201, json={"externalId": "ana", "tags": ["vip"]})
    api.call("POST", "/people", 201, json={"externalId": "bo", "tags": ["regular"]})
    flow = api.call(
        "POST",
        "/flows",
        201,
        json={
            "name": "VIP welcome",
            "entry": {"type": "audience", "tags": ["regular"], "update": "realtime"},
            "elements": [{"id": "w", "type": "wait", "duration": "P1D"}],
        },
    )
    api.call("POST", f"/flows/{flow['id']}/launch")
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    performance = api.call("GET", f"/flows/{flow['id']}/performance")
    assert performance["flow"]["profilesInFlow"] == 1  # bo
    sign_in(page, api.key, f"/flows/{flow['id']}")
    page.get_by_role("group", name="Predefined audience").click()
    side = page.get_by_role("complementary", name="Element settings")
    expect(side.get_by_label("Entry point type")).to_be_disabled()
    tags = side.get_by_label("Tags")
    expect(tags).to_be_editable()
    tags.fill('["regular", "vip"]')
    side.get_by_role("button", name="Save audience to version 1").click()
    expect(side.get_by_role("status")).to_have_text("Saved to version 1.")
    entry = api.call("GET", f"/flows/{flow['id']}")["document"]["entry"]
    assert entry["tags"] == ["regular", "vip"]
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    performance = api.call("GET", f"/flows/{flow['id']}/performance")
    assert performance["flow"]["profilesInFlow"] == 2  # and ana, of the source added in place

    # a source the account does not have is refused, and the saved audience stays
    side.get_by_label("Segments").fill('["No such segment"]')
    side.get_by_role("button", name="Save audience to version 1").click()
    expect(side.get_by_role("status")).to_contain_text("Not saved")
    assert api.call("GET", f"/flows/{flow['id']}")["document"]["entry"].get("segments") is None


def test_a_one_off_audience_is_not_offered_to_change_in_place(page: Any, api: Api) -> None:
    api.call("POST", "/people", 201, json={"externalId": "bo", "tags": ["regular"]})
    flow = api.call(
        "POST",
        "/flows",
        201,
        json={
            "name": "Once",
            "entry": {"type": "audience", "tags": ["regular"]},
            "elements": [{"id": "w", "type": "wait", "duration": "P1D"}],
        },
    )
    api.call("POST", f"/flows/{flow['id']}/launch")
    sign_in(page, api.key, f"/flows/{flow['id']}")
    page.get_by_role("group", name="Predefined audience").click()
    side = page.get_by_role("complementary", name="Element settings")
    expect(page.get_by_label("Status")).to_have_text("active")  # bo waits inside
    expect(side.get_by_label("Tags")).to_be_disabled()
    expect(side.get_by_role("button", name="Save audience to version 1")).to_have_count(0)
