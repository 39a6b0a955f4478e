"""Reports emailed when they are done (issue #17: "optionally emailed when a connection
for email exists"): `POST /reports` with `email`, sent by the report worker through the
account's SMTP connection to the project's aiosmtpd stand-in, with a signed download
link `/r/{token}` that needs no key, lasts 7 days (the virtual clock) and names one
report of one account. On both databases."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tests.support.background import Background, started
from tidings.bootstrap import Tidings
from tidings.channels.standins.infobip import InfobipStandin
from tidings.channels.standins.smtp import Received, SmtpStandin
from tidings.services.report_worker import ReportWorker

PASSWORD = "mail-secret-4711"
LINK = re.compile(r"https?://[^\s\"<>]+/r/[A-Za-z0-9_-]+")


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpStandin, Background]]:
    standin = SmtpStandin(username="mailer", password=PASSWORD)
    with started(standin) as background:
        yield standin, background


def connect(api: Api, standin: SmtpStandin, **overrides: Any) -> int:
    """An SMTP connection to the stand-in, the account's default for email."""
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={
            "name": "Mail",
            "provider": "smtp",
            "channels": ["email"],
            "settings": standin.settings(**overrides),
            "default": True,
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def flow(api: Api) -> int:
    define_events(api)
    doc = {
        "name": "Cart reminder",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "elements": [{"id": "wait", "type": "wait", "duration": "P1D"}],
    }
    return int(launched(api, doc)["id"])


def ask(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.post("/reports", json=body)
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    return created


def mailed(api: Api, report_id: int) -> dict[str, Any]:
    """The report once it is done and its email sent or failed (polled: the worker
    needs no clock advance; a retried send waits a second or more)."""
    deadline = time.monotonic() + 45
    while True:
        answer = api.get(f"/reports/{report_id}")
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        done = report["status"] != "pending" and report["email"]["status"] != "pending"
        if done or time.monotonic() > deadline:
            return report
        time.sleep(0.05)


def parsed(received: Received) -> Any:
    return email.message_from_bytes(received.data, policy=email.policy.default)


def link_of(received: Received) -> str:
    mail = parsed(received)
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    found = LINK.findall(text)
    assert len(found) == 1, text
    assert found[0] in html
    return str(found[0])


def follow(http: TestClient, link: str) -> Any:
    """The link followed as a person would: no API key."""
    return http.get(urlsplit(link).path)


def test_a_report_is_emailed_with_a_link_that_downloads_its_file(
    api: Api, http: TestClient, system: Tidings, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    connect(api, standin)
    flow_id = flow(api)
    created = ask(
        api,
        type="flow",
        flow=flow_id,
        name="Weekly cart",
        email={"to": ["ana@example.com", "Ivo@Example.COM"], "from": "reports@shop.example"},
    )
    assert created["email"] == {
        "to": ["ana@example.com", "Ivo@example.com"],
        "from": "reports@shop.example",
        "status": "pending",
        "reason": None,
    }
    report = mailed(api, created["id"])
    assert report["status"] == "ready"
    assert report["email"]["status"] == "sent", report
    # one copy each: neither reader sees the other's address
    assert sorted(r.rcpt_tos for r in standin.received) == [
        ("Ivo@example.com",),
        ("ana@example.com",),
    ]
    mail = parsed(standin.received[0])
    assert str(mail["Subject"]) == "Your Tidings report: flow Weekly cart is ready"
    assert mail["From"] == "reports@shop.example"
    assert standin.received[0].authenticated_as == "mailer"
    link = link_of(standin.received[0])
    assert link.startswith(f"{system.settings.public_url}/r/")
    assert link_of(standin.received[1]) == link
    by_key = api.get(f"/reports/{created['id']}/file")
    assert by_key.status_code == 200
    got = follow(http, link)
    assert got.status_code == 200, got.text
    assert got.content == by_key.content
    assert got.headers["content-type"].startswith("text/csv")
    assert 'filename="Weekly cart.csv"' in got.headers["content-disposition"]
    assert got.headers["cache-control"] == "no-store"
    # the link is followed again, as often as wanted while it lasts
    assert follow(http, link).content == by_key.content
    # a report email is no flow message: no flow's figures count it
    performance = api.get(f"/flows/{flow_id}/performance").json()
    assert performance["flow"].get("messagesSent", 0) == 0
    assert performance["channels"] == {}
    # the list shows the email's state too
    listed = api.get("/reports").json()["items"]
    assert listed[0]["email"]["status"] == "sent"


def test_the_smtp_login_is_the_default_sender_when_it_is_an_address(api: Api) -> None:
    standin = SmtpStandin(username="reports@shop.example", password=PASSWORD)
    with started(standin):
        connect(api, standin)
        created = ask(api, type="flow", flow=flow(api), email={"to": ["ana@example.com"]})
        assert created["email"]["from"] == "reports@shop.example"
        assert mailed(api, created["id"])["email"]["status"] == "sent"
        assert parsed(standin.received[0])["From"] == "reports@shop.example"


def test_a_refused_login_fails_the_email_and_no_secret_is_shown(
    api: Api, smtp: tuple[SmtpStandin, Background], caplog: pytest.LogCaptureFixture
) -> None:
    standin, _ = smtp
    wrong = "wrong-secret-0815"
    connect(api, standin, password=wrong)
    created = ask(
        api, type="flow", flow=flow(api), email={"to": ["ana@example.com"], "from": "r@x.io"}
    )
    report = mailed(api, created["id"])
    assert report["status"] == "ready"  # the report itself is fine
    assert report["email"]["status"] == "failed"
    assert "535" in report["email"]["reason"]
    for shown in (str(report), api.get("/reports").text, caplog.text):
        assert wrong not in shown
        assert PASSWORD not in shown
    assert api.get(f"/reports/{created['id']}/file").status_code == 200


def test_a_forged_an_altered_and_an_expired_link_are_404(
    api: Api, other_api: Api, http: TestClient, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    connect(api, standin)
    created = ask(
        api,
        type="flow",
        flow=flow(api),
        email={"to": ["ana@example.com"], "from": "r@shop.example"},
    )
    assert mailed(api, created["id"])["email"]["status"] == "sent"
    link = link_of(standin.received[0])
    token = link.rsplit("/", 1)[1]
    assert follow(http, link).status_code == 200
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    account_id, report_id, expires = struct.unpack(">QQQ", raw[:24])
    assert (account_id, report_id) == (api.account_id, created["id"])

    def token_of(payload: bytes, mac: bytes) -> str:
        return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()

    # another account's report, another report, a longer life: the MAC no longer fits
    other = ask(other_api, type="mep", month=other_api.get("/clock").json()["now"][:7])
    forged = [
        token_of(struct.pack(">QQQ", other_api.account_id, other["id"], expires), raw[24:]),
        token_of(struct.pack(">QQQ", account_id, report_id + 1, expires), raw[24:]),
        token_of(struct.pack(">QQQ", account_id, report_id, expires + 10**12), raw[24:]),
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # the MAC altered
        token + "A",
        token[:-1],
        "not-a-token-at-all",
        "x" * 64,
        "%00" * 10,
    ]
    for text in forged:
        answer = http.get(f"/r/{text}")
        assert answer.status_code == 404, (text, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    assert http.get("/r/" + "A" * 300).status_code == 404
    assert http.get("/r/é").status_code == 404
    # an API key does not make a bad link good, nor does the link open the API
    answer = http.get(f"/r/{forged[0]}", headers={"Authorization": f"Bearer {other_api.key}"})
    assert answer.status_code == 404
    # 7 days later the link has expired; the file is still there for a key
    assert api.post("/clock/advance", json={"by": "P7DT1M"}).status_code == 200
    assert follow(http, link).status_code == 404
    assert api.get(f"/reports/{created['id']}/file").status_code == 200


def test_a_rejected_send_is_recorded_and_the_report_stays_downloadable(
    api: Api, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    connect(api, standin)
    standin.reject("gone@example.com")
    created = ask(
        api,
        type="flow",
        flow=flow(api),
        email={"to": ["gone@example.com", "ana@example.com"], "from": "r@shop.example"},
    )
    report = mailed(api, created["id"])
    assert report["status"] == "ready"
    assert report["email"]["status"] == "failed"
    reason = report["email"]["reason"]
    assert reason.startswith("not sent to gone@example.com: 550")
    assert reason.endswith("(sent to the others)")
    assert [r.rcpt_tos for r in standin.received] == [("ana@example.com",)]
    assert api.get(f"/reports/{created['id']}/file").status_code == 200


def test_a_transient_refusal_is_tried_again(api: Api, smtp: tuple[SmtpStandin, Background]) -> None:
    standin, _ = smtp
    connect(api, standin)
    standin.answer_next(1)  # 451 to the first DATA
    created = ask(
        api,
        type="flow",
        flow=flow(api),
        email={"to": ["ana@example.com"], "from": "r@shop.example"},
    )
    report = mailed(api, created["id"])
    assert report["email"]["status"] == "sent", report
    assert len(standin.received) == 1


def test_a_failed_report_is_emailed_without_a_link(
    api: Api, system: Tidings, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    connect(api, standin)
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
    flow_id = draft.json()["id"]
    worker = system.reports
    assert isinstance(worker, ReportWorker)
    with worker.held():
        created = ask(
            api,
            type="participants",
            flow=flow_id,
            email={"to": ["ana@example.com"], "from": "r@shop.example"},
        )
        assert api.delete(f"/flows/{flow_id}").status_code == 204
    report = mailed(api, created["id"])
    assert report["status"] == "failed"
    assert report["email"]["status"] == "sent"
    mail = parsed(standin.received[0])
    assert str(mail["Subject"]) == "Your Tidings report: participants Draft failed"
    text = mail.get_body(("plain",)).get_content()
    assert f"flow {flow_id} does not exist" in text
    assert not LINK.search(text)


def test_bad_email_bodies_are_422_naming_the_field(
    api: Api, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    flow_id = flow(api)

    def refused(email_body: Any) -> str:
        answer = api.post("/reports", json={"type": "flow", "flow": flow_id, "email": email_body})
        assert answer.status_code == 422, answer.text
        fields = [d["field"] for d in answer.json()["error"]["details"]]
        return ", ".join(fields)

    # no email connection yet: say how to get one
    answer = api.post(
        "/reports",
        json={
            "type": "flow",
            "flow": flow_id,
            "email": {"to": ["a@example.com"], "from": "r@x.io"},
        },
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "email"
    assert "connect an email provider" in answer.json()["error"]["message"]
    # a sandbox connection is no way out
    sandbox = {"name": "Off", "provider": "sandbox", "channels": ["email"], "default": True}
    assert api.post("/connections", json=sandbox).status_code == 201
    assert refused({"to": ["a@example.com"], "from": "r@x.io"}) == "email"
    connect(api, standin)
    assert refused({"to": ["a@example.com", "not an address"], "from": "r@x.io"}) == "email.to.1"
    assert refused({"to": ["a@example.com", "b@localhost"], "from": "r@x.io"}) == "email.to.1"
    assert refused({"to": [f"p{n}@example.com" for n in range(11)], "from": "r@x.io"}) == (
        "email.to"
    )
    assert refused({"to": [], "from": "r@x.io"}) == "email.to"
    assert refused({"from": "r@x.io"}) == "email.to"
    assert refused({"to": "a@example.com", "from": "r@x.io"}) == "email.to"
    assert refused({"to": [7], "from": "r@x.io"}) == "email.to.0"
    assert refused({"to": ["a@example.com"], "from": "r@x.io", "cc": ["b@x.io"]}) == "email.cc"
    assert refused({"to": ["a@example.com"], "from": "nobody"}) == "email.from"
    assert refused("a@example.com") == "email"
    # the stand-in's login is no address: the sender must be said
    answer = api.post(
        "/reports", json={"type": "flow", "flow": flow_id, "email": {"to": ["a@example.com"]}}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "email.from"
    assert "default sender" in answer.json()["error"]["message"]
    # nothing was asked for by any of them
    assert api.get("/reports").json()["items"] == []


def test_the_email_of_a_report_is_the_accounts_own(
    api: Api, other_api: Api, smtp: tuple[SmtpStandin, Background]
) -> None:
    """Another account's email connection does not count: it has none of its own."""
    standin, _ = smtp
    connect(api, standin)
    month = other_api.get("/clock").json()["now"][:7]
    answer = other_api.post(
        "/reports",
        json={"type": "mep", "month": month, "email": {"to": ["a@example.com"], "from": "r@x.io"}},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "email"
    created = ask(
        api, type="flow", flow=flow(api), email={"to": ["a@example.com"], "from": "r@x.io"}
    )
    assert other_api.get(f"/reports/{created['id']}").status_code == 404


def test_a_report_is_emailed_through_infobip(api: Api, http: TestClient) -> None:
    """Through an Infobip connection carrying email: `/email/3/send`, one request per
    address, the API key never shown."""
    key = "infobip-report-key"
    standin = InfobipStandin(api_key=key)
    with started(standin):
        assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
        made = api.post(
            "/connections",
            json={
                "name": "Infobip",
                "provider": "infobip",
                "channels": ["sms", "email"],
                "settings": {"baseUrl": standin.url, "apiKey": key},
                "default": True,
            },
        )
        assert made.status_code == 201, made.text
        created = ask(
            api,
            type="flow",
            flow=flow(api),
            email={"to": ["ana@example.com", "ivo@example.com"], "from": "reports@shop.example"},
        )
        report = mailed(api, created["id"])
        assert report["email"]["status"] == "sent", report
        assert key not in str(report)
        sent = [m for m in standin.messages if m["channel"] == "email"]
        assert sorted(m["to"] for m in sent) == ["ana@example.com", "ivo@example.com"]
        assert {m["from"] for m in sent} == {"reports@shop.example"}
        content = sent[0]["content"]
        assert content["subject"] == "Your Tidings report: flow Cart reminder is ready"
        found = LINK.findall(content["text"])
        assert len(found) == 1
        assert found[0] in content["html"]
        got = follow(http, found[0])
        assert got.status_code == 200
        assert got.content == api.get(f"/reports/{created['id']}/file").content
        # Infobip posts the emails' delivery reports to the connection's webhook: taken
        # (2xx, so it does not post them again) and nothing of a flow changes
        deadline = time.monotonic() + 20
        while standin.reports_posted + standin.reports_dropped < 2:
            assert time.monotonic() < deadline, "the stand-in posted no delivery report"
            time.sleep(0.05)
        assert (standin.reports_posted, standin.reports_dropped) == (2, 0)


def test_a_connection_deleted_before_the_send_fails_the_email_not_the_report(
    api: Api, system: Tidings, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    connection = connect(api, standin)
    worker = system.reports
    assert isinstance(worker, ReportWorker)
    with worker.held():
        created = ask(
            api, type="flow", flow=flow(api), email={"to": ["ana@example.com"], "from": "r@x.io"}
        )
        assert api.delete(f"/connections/{connection}").status_code == 204
    report = mailed(api, created["id"])
    assert report["status"] == "ready"
    assert report["email"]["status"] == "failed"
    assert "connect an email provider" in report["email"]["reason"]
    assert standin.received == []


def test_an_smtp_server_that_never_answers_holds_back_no_report(api: Api) -> None:
    """The emails go out from a thread of their own: while one waits on a server that
    accepted the connection and says nothing, other reports are built and ready."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshakes; nobody ever greets
    try:
        assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
        made = api.post(
            "/connections",
            json={
                "name": "Silent mail",
                "provider": "smtp",
                "channels": ["email"],
                "settings": {
                    "host": "127.0.0.1",
                    "port": silent.getsockname()[1],
                    "security": "none",
                    "timeoutSeconds": 4,
                },
                "default": True,
            },
        )
        assert made.status_code == 201, made.text
        flow_id = flow(api)
        first = ask(api, type="flow", flow=flow_id, email={"to": ["a@x.io"], "from": "r@x.io"})
        deadline = time.monotonic() + 10
        while api.get(f"/reports/{first['id']}").json()["status"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # its email is now at the silent server, waiting for a greeting
        started_at = time.monotonic()
        second = ask(api, type="flow", flow=flow_id)
        while api.get(f"/reports/{second['id']}").json()["status"] != "ready":
            assert time.monotonic() - started_at < 3, "a report waited for another's email"
            time.sleep(0.05)
        assert api.get(f"/reports/{first['id']}").json()["email"]["status"] == "pending"
        assert api.delete(f"/connections/{made.json()['id']}").status_code in (200, 204)
    finally:
        silent.close()
