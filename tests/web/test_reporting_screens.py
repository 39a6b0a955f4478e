"""The screens of issue #17 in real Chromium: the MEP dashboard (the month's engaged
persons, per account, the top flows and the subscription's use), Reports (created,
downloaded) and a flow's SFTP import tab (against a real SFTP server on loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.imports.helpers import connection
from tests.imports.helpers import flow as sftp_flow
from tests.support.background import started
from tests.web.conftest import Api, shot, sign_in
from tidings.channels.standins.sftp import SftpStandin
from tidings.channels.standins.smtp import SmtpStandin

pytestmark = pytest.mark.slow  # a real server and a real browser

GREETING: dict[str, Any] = {
    "name": "Greeting",
    "entry": {"type": "api"},
    "settings": {"reentry": {"enabled": True}},
    "elements": [{"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def enter(api: Api, flow: int, who: str) -> None:
    api.call("POST", f"/flows/{flow}/participants", 202, json={"person": {"externalId": who}})


def test_the_mep_dashboard_shows_the_months_engaged_persons(page: Any, api: Api) -> None:
    api.call("PATCH", "/account", json={"mepSubscription": 200})
    first = api.call("POST", "/flows", 201, json=GREETING)["id"]
    second = api.call("POST", "/flows", 201, json={**GREETING, "name": "Second greeting"})["id"]
    for flow in (first, second):
        api.call("POST", f"/flows/{flow}/launch")
    for who in ("ana", "ivo", "eva"):
        enter(api, first, who)
    enter(api, first, "ana")  # again: still one engaged person
    enter(api, second, "ana")  # another flow: still one
    enter(api, second, "mia")
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    sign_in(page, api.key, "/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="MEP").click()
    figures = page.get_by_label("MEP highlights")
    expect(figures.get_by_text("Total MEP").locator("xpath=..")).to_contain_text("4")
    expect(figures.get_by_text("Subscription").locator("xpath=..")).to_contain_text("4 of 200 (2%)")
    accounts = page.get_by_role("table", name="MEP per account")
    expect(accounts.get_by_role("row").filter(has_text="Shop")).to_contain_text("4")
    top = page.get_by_role("table", name="Top flows")
    expect(top.get_by_role("row", name="Greeting 3", exact=True)).to_be_visible()
    expect(top.get_by_role("row", name="Second greeting 1", exact=True)).to_be_visible()
    # the months that can be chosen: this one and the two before it
    options = page.get_by_label("Month").locator("option")
    expect(options).to_have_count(3)
    shot(page, "mep-dashboard")


def test_a_report_is_created_and_downloaded_from_the_reports_page(page: Any, api: Api) -> None:
    flow = api.call("POST", "/flows", 201, json=GREETING)["id"]
    api.call("POST", f"/flows/{flow}/launch")
    for who in ("ana", "=cmd"):  # a name a spreadsheet would run as a formula
        enter(api, flow, who)
    api.call("POST", "/clock/advance", json={"by": "PT1M"})
    sign_in(page, api.key, "/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    form = page.get_by_role("form", name="Create report")
    form.get_by_label("Report type").select_option(label="People of a flow")
    form.get_by_label("Flow", exact=True).select_option(label="Greeting")
    form.get_by_label("Report name").fill("Greeting people")
    form.get_by_role("button", name="Create report").click()
    row = page.get_by_role("table", name="Reports").get_by_role("row", name="Greeting people")
    expect(row).to_contain_text("ready", timeout=30_000)
    with page.expect_download() as done:
        row.get_by_role("button", name="Download Greeting people").click()
    download = done.value
    assert download.suggested_filename == "Greeting people.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Person ID")
    assert "'=cmd" in text
    assert "ana" in text
    shot(page, "reports")

    # a bad request is answered on the form, naming the field
    form.get_by_label("Report type").select_option(label="People of a flow")
    form.get_by_label("Flow", exact=True).select_option(label="Choose a flow")
    form.get_by_role("button", name="Create report").click()
    expect(page.get_by_role("alert")).to_contain_text("flow")


def test_a_report_is_emailed_from_the_reports_page(page: Any, api: Api) -> None:
    """The "Email to" field appears once the account has an email connection; the list
    says the email went, and the stand-in got it with its download link."""
    flow = api.call("POST", "/flows", 201, json=GREETING)["id"]
    api.call("POST", f"/flows/{flow}/launch")
    sign_in(page, api.key, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    form = page.get_by_role("form", name="Create report")
    expect(form.get_by_label("Report type")).to_be_visible()
    expect(form.get_by_label("Email to")).to_have_count(0)  # no email connection yet
    standin = SmtpStandin()
    with started(standin):
        api.call("PATCH", "/account", json={"allowPrivateUrls": True})
        body = {"name": "Mail", "provider": "smtp", "settings": standin.settings()}
        api.call("POST", "/connections", 201, json={**body, "default": True})
        page.reload()
        form.get_by_label("Flow", exact=True).select_option(label="Greeting")
        form.get_by_label("Report name").fill("Mailed greeting")
        form.get_by_label("Email to").fill("ana@example.com, ivo@example.com")
        form.get_by_label("Email from").fill("reports@shop.example")
        form.get_by_role("button", name="Create report").click()
        row = page.get_by_role("table", name="Reports").get_by_role("row", name="Mailed greeting")
        expect(row).to_contain_text("sent to ana@example.com, ivo@example.com", timeout=30_000)
        assert sorted(r.rcpt_tos[0] for r in standin.received) == [
            "ana@example.com",
            "ivo@example.com",
        ]
        assert "/r/" in standin.received[0].data.decode()
    shot(page, "reports-emailed")


def test_the_sftp_import_tab_lists_each_fetch(page: Any, api: Api, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(
        "externalId,phone,email,firstName\n"
        "ext-ana,+385911234567,ana@example.com,Ana\n"
        "ext-bo,,not-an-email,Bo\n",
        encoding="utf-8",
    )
    with SftpStandin(tmp_path, username="crm", password="pa55-word") as server:
        api.call("PATCH", "/account", json={"allowPrivateUrls": True})
        api.call("POST", "/sftp-connections", 201, json=connection(server))
        made = api.call("POST", "/flows", 201, json=sftp_flow())
        api.call("POST", f"/flows/{made['id']}/launch")
        api.call("POST", "/clock/advance", json={"by": "PT1M"})
    sign_in(page, api.key, f"/flows/{made['id']}")

    page.get_by_role("button", name="SFTP imports").click()
    table = page.get_by_role("table", name="Import performance")
    row = table.get_by_role("row").filter(has_text="/in/a.csv")
    expect(row.get_by_role("cell").nth(2)).to_have_text("2")  # total
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")  # valid
    expect(row.get_by_role("cell").nth(4)).to_have_text("1")  # invalid
    with page.expect_download() as done:
        page.get_by_role("button", name="Export CSV").click()
    exported = Path(done.value.path()).read_text(encoding="utf-8")
    assert "/in/a.csv" in exported
    shot(page, "sftp-imports")
