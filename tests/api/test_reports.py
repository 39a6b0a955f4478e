"""Reports as files (issue #17, DESIGN.md "Reports, MEP and SFTP imports"): asked for
through the API, built by the report worker in the background (no clock advance
needed), read back as CSV (parsed with `csv`) and XLSX (opened with openpyxl), on the
virtual clock and both databases."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.services.report_worker import ReportWorker
from tidings.store.tables import reports as reports_table

PARTICIPANT_HEADER = [
    "Person ID",
    "Version",
    "Status",
    "Exit Reason",
    "Entered At",
    "Exited At",
    "Goal Met",
    "Goal Met At",
    "Goal Value",
]


def shop_flow(api: Api) -> int:
    """Enters on CartAbandoned (again after leaving): an SMS, a day's wait; the goal is a
    purchase, worth its amount."""
    doc: dict[str, Any] = {
        "name": "Cart reminder",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {
            "reentry": {"enabled": True},
            "goal": {"event": "PurchaseFinished", "value": "event.amount"},
        },
        "elements": [
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "wait"},
            {"id": "wait", "type": "wait", "duration": "P1D"},
        ],
    }
    return int(launched(api, doc)["id"])


def person(api: Api, external_id: str, phone: str) -> None:
    body = {"externalId": external_id, "phones": [phone]}
    answer = api.post("/people", json=body)
    assert answer.status_code in (200, 201), answer.text


def event(api: Api, name: str, external_id: str, **properties: Any) -> None:
    body = {"person": {"externalId": external_id}, "name": name, "properties": properties}
    answer = api.post("/events", json=body)
    assert answer.status_code == 202, answer.text


def advance(api: Api, by: str) -> None:
    answer = api.post("/clock/advance", json={"by": by})
    assert answer.status_code == 200, answer.text


def now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/clock").json()["now"].replace("Z", "+00:00"))


def ask(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.post("/reports", json=body)
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    assert created["status"] == "pending"
    return created


def finished(api: Api, report_id: int) -> dict[str, Any]:
    """The report once the worker is done with it (polled; it needs no clock advance)."""
    deadline = time.monotonic() + 30
    while True:
        answer = api.get(f"/reports/{report_id}")
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        if report["status"] != "pending" or time.monotonic() > deadline:
            return report
        time.sleep(0.02)


def download(api: Api, report_id: int) -> Any:
    answer = api.get(f"/reports/{report_id}/file")
    assert answer.status_code == 200, answer.text
    return answer


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def shop(api: Api) -> dict[str, Any]:
    """A flow with four participations: `=2+3` and `p1` (who bought for 12.5) went
    through and left, `p2` left and entered again (waiting); with their instants."""
    define_events(api)
    flow = shop_flow(api)
    for n, name in enumerate(["=2+3", "p1", "p2"]):
        person(api, name, f"+38591100{n:04d}")
    first = now(api)
    for name in ["=2+3", "p1", "p2"]:
        event(api, "CartAbandoned", name, cartValue=10)
    advance(api, "PT1H")
    bought = now(api)
    event(api, "PurchaseFinished", "p1", amount=12.5)
    advance(api, "P2D")
    again = now(api)
    event(api, "CartAbandoned", "p2", cartValue=10)
    advance(api, "PT0S")
    return {"flow": flow, "first": first, "bought": bought, "again": again}


def test_the_people_report_as_csv_is_the_flows_participations(
    api: Api, shop: dict[str, Any]
) -> None:
    created = ask(api, type="participants", flow=shop["flow"], name="Cart people")
    report = finished(api, created["id"])
    assert report["status"] == "ready", report
    assert (report["rows"], report["type"], report["format"]) == (4, "participants", "csv")
    answer = download(api, created["id"])
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="Cart people.csv"' in answer.headers["content-disposition"]
    assert report["size"] == len(answer.content)
    rows = csv_rows(answer.content)
    assert rows[0] == PARTICIPANT_HEADER
    first, bought, again = stamp(shop["first"]), stamp(shop["bought"]), stamp(shop["again"])
    # in entry order; the formula-like externalId is escaped so a spreadsheet shows it
    assert [r[:5] for r in rows[1:]] == [
        ["'=2+3", "1", "exited", "completed", first],
        ["p1", "1", "exited", "completed", first],
        ["p2", "1", "exited", "completed", first],
        ["p2", "1", "waiting", "", again],
    ]
    assert [r[6:] for r in rows[1:]] == [
        ["false", "", ""],
        ["true", bought, "12.5"],
        ["false", "", ""],
        ["false", "", ""],
    ]
    assert all(r[5] > first for r in rows[1:4])
    assert rows[4][5] == ""
    # the list has it, newest first
    listed = api.get("/reports").json()
    assert listed["items"][0]["id"] == created["id"]
    assert listed["items"][0]["status"] == "ready"


def test_the_people_report_as_xlsx_opens_with_real_dates(api: Api, shop: dict[str, Any]) -> None:
    created = ask(api, type="participants", flow=shop["flow"], format="xlsx", version=1)
    report = finished(api, created["id"])
    assert report["status"] == "ready", report
    answer = download(api, created["id"])
    assert answer.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert answer.headers["content-disposition"].startswith('attachment; filename="')
    assert '.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    sheet = book["Participants"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == PARTICIPANT_HEADER
    assert len(rows) == 5 == report["rows"] + 1
    naive = shop["first"].astimezone(UTC).replace(tzinfo=None, microsecond=0)
    formula, buyer = rows[1], rows[2]
    # text stays text in a workbook: the externalId as it is, never a formula
    assert formula[:5] == ["=2+3", 1, "exited", "completed", naive]
    assert isinstance(formula[5], datetime)
    assert formula[5] > naive
    assert buyer[6:] == [
        True,
        shop["bought"].astimezone(UTC).replace(tzinfo=None, microsecond=0),
        12.5,
    ]
    assert rows[4][2] == "waiting"
    assert rows[4][5] is None


def test_the_flow_and_channels_reports_are_the_performance_figures(
    api: Api, shop: dict[str, Any]
) -> None:
    performance = api.get(f"/flows/{shop['flow']}/performance").json()
    flow_report = ask(api, type="flow", flow=shop["flow"])
    channels_report = ask(api, type="channels", flow=shop["flow"])
    assert finished(api, flow_report["id"])["status"] == "ready"
    assert finished(api, channels_report["id"])["status"] == "ready"
    rows = csv_rows(download(api, flow_report["id"]).content)
    header, flow_row, elements = rows[0], rows[1], rows[2:]
    assert header[:3] == ["Row", "Element", "Name"]
    assert flow_row[:3] == ["flow", "", "Cart reminder"]
    figures = dict(zip(header, flow_row, strict=True))
    for name, value in performance["flow"].items():
        if name != "refusedEntries":
            assert float(figures[name]) == value, name
    assert int(figures["profilesInFlow"]) == 3
    assert float(figures["goalValue"]) == 12.5
    assert [r[1] for r in elements] == sorted(performance["elements"])
    for row in elements:
        values = dict(zip(header, row, strict=True))
        expected = performance["elements"][row[1]]
        for name in ("totalEngagements", "uniqueEngagements", "messagesSent", "trafficCost"):
            assert float(values[name]) == expected[name], (row[1], name)
    channel_rows = csv_rows(download(api, channels_report["id"]).content)
    assert channel_rows[0] == [
        "Channel",
        "sent",
        "delivered",
        "failed",
        "seen",
        "clicked",
        "parts",
        "cost",
    ]
    assert {r[0]: [float(v) for v in r[1:]] for r in channel_rows[1:]} == {
        channel: [float(v[f]) for f in channel_rows[0][1:]]
        for channel, v in performance["channels"].items()
    }
    assert performance["channels"]["sms"]["sent"] == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "people", "flow": 1}, "type"),
        ({"type": "participants", "flow": 1, "format": "pdf"}, "format"),
        ({"type": "participants"}, "flow"),
        ({"type": "flow", "flow": "one"}, "flow"),
        ({"type": "flow", "flow": 0}, "flow"),
        ({"type": "channels", "flow": 1, "version": "last"}, "version"),
        ({"type": "participants", "flow": 1, "colour": "red"}, "colour"),
        ({"type": "participants", "flow": 1, "name": ""}, "name"),
        ({"type": "participants", "flow": 1, "name": "x" * 201}, "name"),
        ({"type": "mep", "month": "2020-01"}, "month"),  # older than the last 3 months
        ({"type": "imports"}, "flow"),
        ({"type": "mep", "month": "11/2026"}, "month"),
        ({"type": "mep"}, "month"),
        ({"type": "participants", "version": 1}, "flow"),
        ({"type": "flow", "flow": 1, "month": "2026-11"}, "month"),
        ({"type": "channels", "flow": 1, "accounts": [1]}, "accounts"),
        ({"type": "mep", "month": "2026-11", "flow": 1}, "flow"),
        ({"type": "mep", "month": "2026-11", "accounts": ["x"]}, "accounts.0"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.post("/reports", json=body)
    assert answer.status_code == 422, answer.text
    fields = [d.get("field", "") for d in answer.json()["error"]["details"]]
    assert any(f == field or f.endswith(f".{field}") for f in fields), fields
    assert api.get("/reports").json()["items"] == []  # nothing was asked for


def test_a_version_the_flow_does_not_have_is_a_422(api: Api) -> None:
    define_events(api)
    flow = shop_flow(api)
    answer = api.post("/reports", json={"type": "participants", "flow": flow, "version": 2})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "version"
    assert api.post("/reports", json={"type": "flow", "flow": 999_999_999}).status_code == 404


def test_another_accounts_flows_and_reports_are_not_found(api: Api, other_api: Api) -> None:
    define_events(api)
    flow = shop_flow(api)
    mine = ask(api, type="participants", flow=flow)
    assert finished(api, mine["id"])["status"] == "ready"
    answer = other_api.post("/reports", json={"type": "participants", "flow": flow})
    assert answer.status_code == 404, answer.text
    assert other_api.get(f"/reports/{mine['id']}").status_code == 404
    assert other_api.get(f"/reports/{mine['id']}/file").status_code == 404
    assert other_api.get("/reports").json()["items"] == []
    assert api.get("/reports/999999999/file").status_code == 404
    assert api.get("/reports/0").status_code == 422


def test_a_file_not_ready_is_a_409_and_a_failed_report_says_why(api: Api, system: Tidings) -> None:
    worker = system.reports
    assert isinstance(worker, ReportWorker)
    define_events(api)
    draft = api.post(
        "/flows",
        json={
            "name": "Draft",
            "entry": {"type": "event", "event": "CartAbandoned"},
            "elements": [{"id": "wait", "type": "wait", "duration": "P1D"}],
        },
    )
    assert draft.status_code == 201, draft.text
    flow = draft.json()["id"]
    with worker.held():
        created = ask(api, type="participants", flow=flow)
        time.sleep(0.05)
        assert api.get(f"/reports/{created['id']}").json()["status"] == "pending"
        answer = api.get(f"/reports/{created['id']}/file")
        assert answer.status_code == 409, answer.text
        assert "not ready" in answer.json()["error"]["message"]
        # the flow goes before the report is built: it fails, saying so
        assert api.delete(f"/flows/{flow}").status_code == 204
    report = finished(api, created["id"])
    assert report["status"] == "failed"
    assert report["reason"] == f"flow {flow} does not exist"
    assert (report["size"], report["rows"]) == (None, None)
    answer = api.get(f"/reports/{created['id']}/file")
    assert answer.status_code == 409
    assert f"flow {flow} does not exist" in answer.json()["error"]["message"]


def test_a_report_whose_worker_stopped_is_built_again(api: Api, system: Tidings) -> None:
    """A worker that stopped mid-way (its lease ran out) leaves the report to the next;
    one left too often fails."""
    worker = system.reports
    assert isinstance(worker, ReportWorker)
    define_events(api)
    flow = shop_flow(api)
    with worker.held():
        again = ask(api, type="participants", flow=flow)
        given_up = ask(api, type="participants", flow=flow)

        def crashed(conn: Any) -> None:
            for report_id, attempts in ((again["id"], 1), (given_up["id"], 3)):
                conn.execute(
                    reports_table.update()
                    .where(reports_table.c.id == report_id)
                    .values(status="running", lease_until=1, attempts=attempts)
                )

        system.db.write(crashed)
        assert api.get(f"/reports/{again['id']}").json()["status"] == "pending"
    assert finished(api, again["id"])["status"] == "ready"
    failed = finished(api, given_up["id"])
    assert failed["status"] == "failed"
    assert "stopped 3 times" in failed["reason"]


def test_reports_are_listed_newest_first_a_page_at_a_time(api: Api) -> None:
    define_events(api)
    flow = shop_flow(api)
    ids = [ask(api, type="channels", flow=flow, name=f"r{n}")["id"] for n in range(3)]
    page = api.get("/reports", params={"limit": 2}).json()
    assert [r["id"] for r in page["items"]] == ids[::-1][:2]
    assert page["hasMore"] is True
    rest = api.get("/reports", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in rest["items"]] == ids[:1]
    assert rest["hasMore"] is False
    for report_id in ids:
        assert finished(api, report_id)["status"] == "ready"


def test_an_unescaped_name_never_reaches_the_header(api: Api) -> None:
    define_events(api)
    flow = shop_flow(api)
    created = ask(api, type="channels", flow=flow, name='Čaj "x"\r\nSet-Cookie: a=b')
    assert finished(api, created["id"])["status"] == "ready"
    answer = download(api, created["id"])
    disposition = answer.headers["content-disposition"]
    assert "set-cookie" not in {k.lower() for k in answer.headers}
    assert disposition.startswith('attachment; filename="Caj _x_Set-Cookie_ a_b.csv"')
    assert "filename*=UTF-8''%C4%8Caj%20%22x%22%0D%0ASet-Cookie" in disposition


def test_an_mep_report_has_the_guides_columns_and_needs_an_admin_key(
    api: Api, other_api: Api
) -> None:
    doc = {
        "name": "Greeting",
        "entry": {"type": "api"},
        "settings": {"reentry": {"enabled": True}},
        "elements": [{"id": "hi", "type": "wait", "duration": "PT1M"}],
    }
    flow = int(launched(api, doc)["id"])
    for who in ("ana", "ivo", "ana"):  # ana twice: one engaged person
        answer = api.post(f"/flows/{flow}/participants", json={"person": {"externalId": who}})
        assert answer.status_code == 202, answer.text
        advance(api, "PT2M")
    month = now(api).strftime("%Y-%m")  # the test accounts' zone is UTC
    created = ask(api, type="mep", month=month)
    report = finished(api, created["id"])
    assert report["status"] == "ready", report
    assert report["accounts"] == [api.account_id]
    rows = csv_rows(download(api, created["id"]).content)
    assert rows[0] == ["Person ID", "Engaged At", "Billed At", "Campaign ID", "Campaign Name"]
    assert sorted(r[0] for r in rows[1:]) == ["ana", "ivo"]
    assert {(r[2], r[3], r[4]) for r in rows[1:]} == {
        (f"{month}-01T00:00:00Z", str(flow), "Greeting")
    }
    # another account is none of this one's: 422 naming it; a key that is not admin: 403
    answer = api.post(
        "/reports", json={"type": "mep", "month": month, "accounts": [other_api.account_id]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "accounts.0"
    plain = api.post("/keys", json={"name": "plain", "admin": False}).json()["key"]
    answer = api.post(
        "/reports",
        json={"type": "mep", "month": month},
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert answer.status_code == 403, answer.text


def test_a_report_named_after_a_long_flow_name_fits(api: Api) -> None:
    define_events(api)
    long_name = "日" * 255
    flow = api.post(
        "/flows",
        json={
            "name": long_name,
            "entry": {"type": "event", "event": "CartAbandoned"},
            "elements": [{"id": "wait", "type": "wait", "duration": "P1D"}],
        },
    )
    assert flow.status_code == 201, flow.text
    created = ask(api, type="participants", flow=flow.json()["id"])
    assert created["name"] == f"participants {long_name}"[:200]
    assert finished(api, created["id"])["status"] == "ready"
    answer = download(api, created["id"])
    assert csv_rows(answer.content) == [PARTICIPANT_HEADER]  # a draft: nobody yet
    assert 'filename="participants.csv"' in answer.headers["content-disposition"]
