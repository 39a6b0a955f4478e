"""Email through an SMTP connection, end to end, to a real aiosmtpd server on loopback:
the MIME structure and headers a mail client and a spam filter read, the tracked links,
the outbox id in the Message-ID, and the send counted as delivered (SMTP has no reports)
so a flow waiting for delivery goes on."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages
from tests.support.background import Background, started
from tidings.channels.email_message import outbox_id_of
from tidings.channels.standins.smtp import SmtpStandin


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpStandin, Background]]:
    standin = SmtpStandin(username="mailer", password="mail-secret")
    with started(standin) as background:
        yield standin, background


FLOW = {
    "name": "Welcome email",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "mail",
            "type": "send_email",
            "from": "shop@example.com",
            "replyTo": "care@example.com",
            "subject": "Dobrodošli, {{ person.firstName }}",
            "html": '<p>Hi {{ person.firstName }}, see <a href="https://shop.example/new">'
            "what is new</a></p>",
            "next": "wait",
        },
        {
            "id": "wait",
            "type": "wait_for_event",
            "element": "mail",
            "event": "message.delivered",
            "timeout": "PT1H",
            "next": {"event": "ok", "timeout": "late"},
        },
        {"id": "ok", "type": "update_profile", "addTags": ["mailed"]},
        {"id": "late", "type": "update_profile", "addTags": ["not-mailed"]},
    ],
}


def test_an_email_goes_out_by_smtp_with_its_headers_and_tracking(
    api: Api, smtp: tuple[SmtpStandin, Background]
) -> None:
    standin, _ = smtp
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    made = api.post(
        "/connections",
        json={"name": "Mail", "provider": "smtp", "settings": standin.settings(), "default": True},
    )
    assert made.status_code == 201, made.text
    assert made.json()["settings"]["password"] == "set"
    flow = launched(api, FLOW)["id"]
    person = {"externalId": "ana", "firstName": "Ana", "emails": ["ana@example.com"]}
    assert api.post(f"/flows/{flow}/participants", json={"person": person}).status_code < 300
    drain(api)
    drain(api)
    assert len(standin.received) == 1
    received = standin.received[0]
    assert received.rcpt_tos == ("ana@example.com",)
    assert received.authenticated_as == "mailer"
    mail: Any = email.message_from_bytes(received.data, policy=email.policy.default)
    assert mail["From"] == "shop@example.com"
    assert mail["Reply-To"] == "care@example.com"
    assert str(mail["Subject"]) == "Dobrodošli, Ana"
    assert mail.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in mail["List-Unsubscribe"]
    assert outbox_id_of(mail["Message-ID"]) is not None
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "https://shop.example/new" not in html  # tracked
    assert "/t/" in html
    assert "Unsubscribe" in html
    assert "what is new" in text  # derived from the HTML
    found = api.get("/people", params={"externalId": "ana"}).json()["items"][0]
    assert "mailed" in found["tags"]
    assert messages(api, flow) == []
