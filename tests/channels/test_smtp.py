"""`SmtpProvider` against the real aiosmtpd stand-in on loopback: what arrives, the pool,
TLS, AUTH, the server's answers, and the private-address guard.

Only 127.0.0.1 is ever dialled; names are mapped by a fake resolver (`Names`), and a
"private" answer is used only where the send must be refused before any connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from tests.channels.test_call_api import Names
from tidings.channels.email_message import outbox_id_of
from tidings.channels.providers import Callback, CallbackRefused, Outgoing, SendResult, Webhooks
from tidings.channels.smtp import SECRETS, SmtpProvider, SmtpSettings
from tidings.channels.standins.smtp import Security, SmtpStandin

pytestmark = pytest.mark.anyio

WEBHOOKS = Webhooks("https://tidings.example/d", "https://tidings.example/i")
NAME = "smtp.standin.test"  # the stand-in's certificate is for this name (and 127.0.0.1)
PASSWORD = "s3cret-Pa55word"


def email(n: int, **content: Any) -> Outgoing:
    to = content.pop("to", f"person{n}@example.com")
    body = {
        "subject": f"Hello {n}",
        "html": f"<p>Hi {n}, <a href='https://t.example/t/{n}'>look</a></p>",
    }
    return Outgoing(
        f"out-{n:04d}", "email", to, "Shop <news@shop.example>", body | content, 1,
        f"https://t.example/u/{n}",
    )  # fmt: skip


def provider(standin: SmtpStandin, *, names: Names | None = None, **overrides: Any) -> SmtpProvider:
    """A provider for `standin`, allowed to reach loopback unless told otherwise."""
    allow = overrides.pop("allow_private", True)
    tls = overrides.pop("tls_context", None)
    settings = SmtpSettings.model_validate(standin.settings(**overrides))
    return SmtpProvider(settings, allow_private=allow, resolver=names or Names(), tls_context=tls)


async def send(p: SmtpProvider, batch: list[Outgoing]) -> list[SendResult]:
    results = await p.send(batch, WEBHOOKS)
    assert [r.id for r in results] == [m.id for m in batch]
    return results


def statuses(results: list[SendResult]) -> list[str]:
    return [r.status for r in results]


@pytest.fixture
async def standin() -> AsyncIterator[SmtpStandin]:
    async with SmtpStandin() as server:
        yield server


async def test_a_batch_arrives_whole_with_its_envelope_and_mime(standin: SmtpStandin) -> None:
    batch = [email(n) for n in range(20)]
    async with provider(standin) as p:
        results = await send(p, batch)

    assert statuses(results) == ["accepted"] * 20
    assert all(r.reason is None for r in results)
    assert standin.count == 20
    by_to = {r.rcpt_tos: r for r in standin.received}
    received = by_to[("person7@example.com",)]
    assert received.mail_from == "news@shop.example"
    message = received.message()
    assert message["Subject"] == "Hello 7"
    assert message["From"] == "Shop <news@shop.example>"
    assert outbox_id_of(message["Message-ID"]) == "out-0007"
    assert message["Message-ID"].endswith("@shop.example>")  # the sender's domain
    assert message["List-Unsubscribe"] == "<https://t.example/u/7>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


async def test_the_domain_setting_names_the_message_ids(standin: SmtpStandin) -> None:
    async with provider(standin, domain="mail.shop.example") as p:
        await send(p, [email(1)])

    assert standin.received[0].message_id == f"<out-0001.{_check('out-0001')}@mail.shop.example>"


def _check(outbox_id: str) -> str:
    from tidings.channels.email_message import check_of

    return check_of(outbox_id)


async def test_connections_are_pooled_and_reused_across_batches(standin: SmtpStandin) -> None:
    async with provider(standin, maxConnections=2) as p:
        for start in range(0, 50, 10):
            results = await send(p, [email(n) for n in range(start, start + 10)])
            assert statuses(results) == ["accepted"] * 10

    assert standin.count == 50
    assert standin.connections == 2
    assert p.connections_opened == 2
    assert {r.connection for r in standin.received} == {1, 2}


async def test_concurrent_batches_share_the_bounded_pool(standin: SmtpStandin) -> None:
    async with provider(standin, maxConnections=3) as p:
        batches = [[email(n) for n in range(k, k + 20)] for k in range(0, 100, 20)]
        results = await asyncio.gather(*(send(p, batch) for batch in batches))

    assert all(statuses(r) == ["accepted"] * 20 for r in results)
    assert standin.count == 100
    assert standin.connections <= 3


async def test_a_connection_the_server_dropped_is_replaced(standin: SmtpStandin) -> None:
    async with provider(standin, maxConnections=1) as p:
        assert statuses(await send(p, [email(1)])) == ["accepted"]
        standin.drop_connections()
        await asyncio.sleep(0.05)  # the close reaches the client
        assert statuses(await send(p, [email(2), email(3)])) == ["accepted", "accepted"]

    assert standin.connections == 2
    assert standin.count == 3
    assert standin.duplicates == 0


async def test_a_drop_noticed_only_when_sending_is_retried_at_once_on_a_new_connection(
    standin: SmtpStandin,
) -> None:
    async with provider(standin, maxConnections=1) as p:
        assert statuses(await send(p, [email(1)])) == ["accepted"]
        standin.drop_connections()  # no pause: the client learns it on its next command
        results = await send(p, [email(2), email(3)])

    assert statuses(results) == ["accepted", "accepted"]
    assert standin.connections == 2
    assert standin.count == 3


async def test_a_refused_recipient_fails_that_message_only(standin: SmtpStandin) -> None:
    standin.reject("person3@example.com")
    batch = [email(n) for n in range(6)]
    async with provider(standin) as p:
        results = await send(p, batch)

    assert statuses(results) == ["accepted"] * 3 + ["failed"] + ["accepted"] * 2
    assert results[3].reason == "550 5.1.1 Mailbox unavailable"
    assert standin.count == 5
    assert standin.connections == min(4, 6)  # nothing closed for a refused recipient


async def test_a_553_is_permanent_too(standin: SmtpStandin) -> None:
    standin.reject("odd@example.com", 553, "5.1.3 Bad recipient address syntax")
    async with provider(standin) as p:
        results = await send(p, [email(1, to="odd@example.com")])

    assert (results[0].status, results[0].reason) == (
        "failed",
        "553 5.1.3 Bad recipient address syntax",
    )


async def test_451_asks_for_a_retry_and_the_connection_goes_on(standin: SmtpStandin) -> None:
    standin.answer_next(2)
    async with provider(standin, maxConnections=1) as p:
        results = await send(p, [email(n) for n in range(5)])

    assert statuses(results) == ["retry", "retry", "accepted", "accepted", "accepted"]
    assert results[0].reason == "451 4.3.0 Try again later"
    assert standin.count == 3
    assert standin.connections == 1


async def test_a_554_after_data_fails_with_the_servers_words(standin: SmtpStandin) -> None:
    standin.answer_next(1, 554, "5.7.1 Message rejected as spam")
    async with provider(standin, maxConnections=1) as p:
        results = await send(p, [email(1), email(2)])

    assert statuses(results) == ["failed", "accepted"]
    assert results[0].reason == "554 5.7.1 Message rejected as spam"


async def test_a_server_that_is_down_means_retry(closed_port: int) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port, security="none")
    async with SmtpProvider(settings, allow_private=True) as p:
        results = await send(p, [email(n) for n in range(3)])

    assert statuses(results) == ["retry"] * 3
    assert results[0].reason == f"could not connect to 127.0.0.1:{closed_port}: connection refused"


async def test_a_server_that_never_greets_times_out_as_retry() -> None:
    released = asyncio.Event()

    async def silent(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await released.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeoutSeconds=0.2)
    try:
        async with SmtpProvider(settings, allow_private=True) as p:
            results = await send(p, [email(1)])
    finally:
        released.set()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0.01)  # the handler closes its side

    assert statuses(results) == ["retry"]
    assert results[0].reason is not None
    assert "timed out" in results[0].reason


class Mute:
    """A server that greets and answers EHLO, then answers nothing: `opened` connections."""

    def __init__(self) -> None:
        self.opened: list[asyncio.StreamWriter] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened.append(writer)
        writer.write(b"220 mute.example ESMTP\r\n")
        await reader.readline()  # EHLO
        writer.write(b"250 mute.example\r\n")
        await reader.read()  # MAIL and whatever follows: never answered

    async def __aenter__(self) -> Mute:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        for writer in self.opened:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0.01)


async def test_a_server_that_stops_answering_times_out_as_retry_once() -> None:
    async with Mute() as mute:
        settings = SmtpSettings(
            host="127.0.0.1", port=mute.port, security="none", timeoutSeconds=0.2
        )
        async with SmtpProvider(settings, allow_private=True) as p:
            results = await send(p, [email(1)])

    assert (results[0].status, results[0].reason) == ("retry", "timed out after 0.2 s")
    assert len(mute.opened) == 1  # not tried again at once: the server is slow, not gone


async def test_a_send_cancelled_mid_exchange_does_not_return_its_connection() -> None:
    async with Mute() as mute:
        settings = SmtpSettings(host="127.0.0.1", port=mute.port, security="none", maxConnections=1)
        async with SmtpProvider(settings, allow_private=True) as p:
            for _ in range(2):
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(p.send([email(1)], WEBHOOKS), 0.3)

    assert len(mute.opened) == 2  # the second send did not reuse the half-used connection


# --- the private-address guard ---------------------------------------------------------------


async def test_a_loopback_host_is_refused_unless_private_addresses_are_allowed(
    standin: SmtpStandin,
) -> None:
    async with provider(standin, allow_private=False) as p:
        results = await send(p, [email(1), email(2)])

    assert statuses(results) == ["failed", "failed"]
    assert results[0].reason == "refused: 127.0.0.1 is a loopback address"
    assert standin.connections == 0


async def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    standin: SmtpStandin,
) -> None:
    names = Names({"mail.partner.example": ["10.1.2.3"]})
    async with provider(
        standin, names=names, allow_private=False, host="mail.partner.example"
    ) as p:
        results = await send(p, [email(1)])

    assert results[0].status == "failed"
    assert (
        results[0].reason == "refused: mail.partner.example resolves to 10.1.2.3, a private address"
    )
    assert names.asked == ["mail.partner.example"]
    assert standin.connections == 0


async def test_localhost_is_refused_whatever_the_resolver_says(standin: SmtpStandin) -> None:
    names = Names({"localhost": ["93.184.216.34"]})
    async with provider(standin, names=names, allow_private=False, host="localhost") as p:
        results = await send(p, [email(1)])

    assert results[0].reason == "refused: localhost is a loopback address"
    assert names.asked == []


async def test_a_name_that_does_not_resolve_means_retry(standin: SmtpStandin) -> None:
    async with provider(standin, host="nowhere.example") as p:
        results = await send(p, [email(1)])

    assert (results[0].status, results[0].reason) == ("retry", "could not resolve nowhere.example")


async def test_the_checked_address_is_dialled(standin: SmtpStandin) -> None:
    names = Names({"mail.partner.example": ["127.0.0.1"]})
    async with provider(standin, names=names, host="mail.partner.example") as p:
        results = await send(p, [email(1)])

    assert statuses(results) == ["accepted"]
    assert names.asked == ["mail.partner.example"]


# --- TLS and AUTH ------------------------------------------------------------------------------


@pytest.fixture
async def tls_standin(request: pytest.FixtureRequest) -> AsyncIterator[SmtpStandin]:
    security: Security = request.param
    try:
        server = SmtpStandin(security=security, hostname=NAME, username="shop", password=PASSWORD)
        await server.start()
    except RuntimeError as exc:  # no openssl command to make a certificate
        pytest.skip(str(exc))
    yield server
    await server.stop()


@pytest.mark.parametrize("tls_standin", ["starttls", "tls"], indirect=True)
async def test_tls_verifies_the_host_name_while_dialling_the_checked_address(
    tls_standin: SmtpStandin,
) -> None:
    names = Names({NAME: ["127.0.0.1"]})
    trust = tls_standin.client_tls_context()
    async with provider(tls_standin, names=names, host=NAME, tls_context=trust) as p:
        results = await send(p, [email(n) for n in range(10)])

    assert statuses(results) == ["accepted"] * 10
    assert all(r.tls and r.authenticated_as == "shop" for r in tls_standin.received)
    assert tls_standin.connections <= 4


@pytest.mark.parametrize("tls_standin", ["starttls", "tls"], indirect=True)
async def test_a_certificate_for_another_name_fails_without_sending(
    tls_standin: SmtpStandin,
) -> None:
    names = Names({"other.partner.example": ["127.0.0.1"]})
    trust = tls_standin.client_tls_context()
    host = "other.partner.example"
    async with provider(tls_standin, names=names, host=host, tls_context=trust) as p:
        results = await send(p, [email(1), email(2)])

    assert statuses(results) == ["failed", "failed"]
    assert results[0].reason is not None
    assert "certificate not trusted" in results[0].reason
    assert tls_standin.count == 0


@pytest.mark.parametrize("tls_standin", ["starttls"], indirect=True)
async def test_an_untrusted_certificate_fails(tls_standin: SmtpStandin) -> None:
    names = Names({NAME: ["127.0.0.1"]})
    async with provider(tls_standin, names=names, host=NAME) as p:  # the system's CAs only
        results = await send(p, [email(1)])

    assert results[0].status == "failed"
    assert results[0].reason is not None
    assert "certificate not trusted" in results[0].reason


async def test_starttls_required_but_not_offered_fails(standin: SmtpStandin) -> None:
    async with provider(standin, security="starttls") as p:
        results = await send(p, [email(1)])

    assert (results[0].status, results[0].reason) == (
        "failed",
        f"127.0.0.1:{standin.port} does not offer STARTTLS",
    )


async def test_auth_with_the_right_password_sends() -> None:
    async with SmtpStandin(username="shop", password=PASSWORD) as server, provider(server) as p:
        results = await send(p, [email(1)])

    assert statuses(results) == ["accepted"]
    assert server.received[0].authenticated_as == "shop"


async def test_a_wrong_password_fails_and_the_password_is_in_no_reason_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + PASSWORD
    server = SmtpStandin(username="shop", password=PASSWORD)
    async with server, provider(server, password=wrong) as p:
        results = await send(p, [email(1), email(2)])

    assert statuses(results) == ["failed", "failed"]
    assert results[0].reason is not None
    assert results[0].reason.startswith("login refused: 535")
    assert server.auth_failures >= 1
    assert server.count == 0
    assert all(wrong not in (r.reason or "") for r in results)
    assert wrong not in caplog.text
    assert PASSWORD not in caplog.text


async def test_without_auth_a_server_that_wants_it_refuses_the_message() -> None:
    server = SmtpStandin(username="shop", password=PASSWORD)
    async with server, provider(server, username=None, password=None) as p:
        results = await send(p, [email(1)])

    assert (results[0].status, results[0].reason) == (
        "failed",
        "530 5.7.0 Authentication required",
    )


# --- what is refused before sending, and callbacks ------------------------------------------


async def test_an_invalid_message_fails_alone(standin: SmtpStandin) -> None:
    batch = [email(1), email(2, to="someone\r\nBcc: all@example.com"), email(3, html=None)]
    async with provider(standin) as p:
        results = await send(p, batch)

    assert statuses(results) == ["accepted", "failed", "failed"]
    assert results[1].reason == "invalid email: to: an address may not contain a line break"
    assert results[2].reason == "invalid email: content: an email needs an html or a text body"
    assert standin.count == 1


async def test_other_channels_are_not_sent(standin: SmtpStandin) -> None:
    sms = Outgoing("out-sms", "sms", "+385911234567", "Shop", {"text": "hi"})
    async with provider(standin) as p:
        results = await send(p, [sms])

    assert (results[0].status, results[0].reason) == ("failed", "smtp sends email, not sms")


async def test_a_non_ascii_local_part_goes_with_smtputf8(standin: SmtpStandin) -> None:
    async with provider(standin) as p:
        results = await send(p, [email(1, to="ana.šimić@example.com")])

    assert statuses(results) == ["accepted"]
    assert standin.received[0].rcpt_tos == ("ana.šimić@example.com",)
    assert standin.received[0].message()["To"] == "ana.šimić@example.com"


async def test_smtp_takes_no_callbacks(standin: SmtpStandin) -> None:
    callback = Callback("https://tidings.example/d", {}, b"{}")
    async with provider(standin) as p:
        for parse in (p.delivery_reports, p.inbound_messages):
            with pytest.raises(CallbackRefused) as refused:
                parse(callback)
            assert refused.value.status == 404


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_the_default_port_follows_security(security: str, port: int) -> None:
    settings = SmtpSettings.model_validate({"host": "smtp.example.com", "security": security})

    assert settings.effective_port == port


def test_settings_are_camel_case_and_the_password_is_secret() -> None:
    settings = SmtpSettings.model_validate(
        {"host": "SMTP.Example.com", "port": 2525, "security": "tls", "username": "u",
         "password": PASSWORD, "domain": "shop.example", "timeoutSeconds": 5,
         "maxConnections": 2}
    )  # fmt: skip

    assert (settings.host, settings.timeout_seconds, settings.max_connections) == (
        "smtp.example.com",
        5,
        2,
    )
    assert PASSWORD not in repr(settings)
    assert frozenset({"password"}) == SECRETS
    assert SmtpSettings.model_validate({"host": "smtp.example.com"}).security == "starttls"


@pytest.mark.parametrize(
    "bad",
    [
        {"host": "smtp.example.com\r\nX: y"},
        {"host": "smtp example.com"},
        {"host": ""},
        {"host": "smtp.example.com", "security": "ssl"},
        {"host": "smtp.example.com", "port": 0},
        {"host": "smtp.example.com", "password": "p"},
        {"host": "smtp.example.com", "username": "u\r\nRCPT TO:<x@y>"},
        {"host": "smtp.example.com", "baseUrl": "https://x"},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SmtpSettings.model_validate(bad)
