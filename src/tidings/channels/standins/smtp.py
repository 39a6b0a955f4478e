"""A loopback SMTP server (aiosmtpd) that keeps what it receives: the SMTP provider's stand-in.

`SmtpStandin` serves on the running event loop (`async with SmtpStandin() as s:` or
`await s.start()` / `await s.stop()`; port 0 gives a free port, `s.port`):

- **Security**: `security="none"`, `"starttls"` (offered and required before MAIL) or `"tls"`
  (implicit TLS, as on port 465). The certificate is made at start by the `openssl` command
  (self-signed, for `hostname` and 127.0.0.1, valid two days) in a temporary folder removed
  at stop; `s.client_tls_context()` is an `ssl.SSLContext` that trusts it, for the client.
- **AUTH** (PLAIN and LOGIN) when `username` and `password` are given: required before
  MAIL (530 otherwise), offered over plain connections too (a test server).
- **What it keeps**: `received` (a `Received` per accepted message: envelope, the bytes as
  received, `message()` parsed with the stdlib), `count`, `connections` (how many were
  opened), `message_ids` and `duplicates` (messages whose Message-ID had come before; SMTP
  itself does not de-duplicate, the count shows what a retry cost). `keep=False` keeps only
  the counts and ids (a bench of 100,000 messages).
- **Fates**: `reject(address, code, text)` answers RCPT for that recipient with a permanent
  (or any) reply; `answer_next(n, code, text)` answers DATA with `code` (451 by default) for
  the next n messages; `drop_connections()` closes every open connection from the server's
  side (a client must reconnect).

Handlers answer without sleeping or scanning what was received. Two of aiosmtpd's steps are
replaced (`_FastSMTP`) because they cost most of its time per message: DATA is read as a
whole (aiosmtpd reads it line by line: one `readuntil` and a dozen Python steps per line)
and a plain `<local@domain>` in MAIL and RCPT is taken without the `email` header parser;
everything else (EHLO, STARTTLS, AUTH, the checks and replies) is aiosmtpd's own.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import shutil
import ssl
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

Security = Literal["none", "starttls", "tls"]

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)
_HEADER_END = b"\r\n\r\n"
_DATA_END = b"\r\n.\r\n"
_STUFFED = re.compile(rb"^\.", re.MULTILINE)  # RFC 5321 4.5.2: a leading dot was doubled
_ANGLE_ADDRESS = re.compile(r"\s*<([^\s<>()\[\]\\,;:@\"]+@[A-Za-z0-9.-]+)>(.*)", re.DOTALL)
_READ = 1 << 20  # more than the reader ever holds (it pauses the socket past 2 lines' worth)


class _Deprecation(logging.Filter):
    """aiosmtpd 1.4 logs a warning of its own deprecation (Session.login_data) on every
    successful AUTH; it says nothing about the stand-in."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in str(record.msg)


_quiet = _Deprecation()
logging.getLogger("mail.log").addFilter(_quiet)  # the same filter object: added once


@dataclass(frozen=True, slots=True)
class Received:
    """One message the stand-in accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as received: CRLF line ends, dots un-stuffed
    connection: int  # which connection brought it (1-based, in the order they were opened)
    authenticated_as: str | None = None
    tls: bool = False

    def message(self) -> EmailMessage:
        """The message parsed by the stdlib (`email.policy.default`)."""
        if self.data.isascii():
            parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        else:  # SMTPUTF8: headers in UTF-8 (RFC 6532), which BytesParser would not decode
            text = self.data.decode("utf-8", "surrogateescape")
            parsed = Parser(policy=policy.default).parsestr(text)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str | None:
        return message_id_of(self.data)


def message_id_of(data: bytes) -> str | None:
    """The Message-ID of raw message bytes, read from the header section only."""
    end = data.find(_HEADER_END)
    found = _MESSAGE_ID.search(data, 0, len(data) if end < 0 else end)
    return found.group(1).decode("utf-8", "replace") if found else None


@dataclass
class _Fate:
    code: int
    text: str
    remaining: int = 0


class _FastSMTP(SMTP):
    """aiosmtpd's server with DATA read whole and plain addresses taken as they are."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _ANGLE_ADDRESS.fullmatch(arg)
        if plain is not None:
            return plain.group(1), plain.group(2)
        return super()._getaddr(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = bytearray(b"\r\n")  # so an empty message ends with _DATA_END too
        searched = 0
        while True:
            chunk = await self._reader.read(_READ)
            if not chunk:  # the connection closed mid-message
                return
            data += chunk
            end = data.find(_DATA_END, searched)
            if end >= 0:
                break
            searched = max(0, len(data) - len(_DATA_END))
            if self.data_size_limit and len(data) > self.data_size_limit + 2:
                await self._discard_until_end()
                await self.push("552 Error: Too much mail data")
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
        rest = bytes(data[end + len(_DATA_END) :])
        if rest:  # a client that pipelined past the end: give the reader its commands back
            self._reader.feed_data(rest)
        content = _STUFFED.sub(b"", bytes(data[2 : end + 2]))
        if self.data_size_limit and len(content) > self.data_size_limit:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    async def _discard_until_end(self) -> None:
        tail = b""
        while True:
            chunk = await self._reader.read(_READ)
            if not chunk:
                return
            window = tail + chunk
            end = window.find(_DATA_END)
            if end >= 0:
                rest = window[end + len(_DATA_END) :]
                if rest:
                    self._reader.feed_data(rest)
                return
            tail = window[-len(_DATA_END) :]


class SmtpStandin:
    """A loopback SMTP server for tests and benchmarks (see the module doc)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        hostname: str = "smtp.standin.test",
        keep: bool = True,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host = host
        self.security: Security = security
        self.username = username
        self.hostname = hostname
        self.keep = keep
        self.received: list[Received] = []
        self.count = 0
        self.connections = 0
        self.message_ids: set[str] = set()
        self.duplicates = 0
        self.auth_failures = 0
        self._password = password
        self._port = port
        self._rejected: dict[str, _Fate] = {}
        self._next = _Fate(451, "4.3.0 Try again later")
        self._server: asyncio.Server | None = None
        self._open: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._certificate: Path | None = None
        self._server_tls: ssl.SSLContext | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def certificate(self) -> Path:
        """The PEM certificate the server presents (also the CA to trust)."""
        if self._certificate is None:
            raise RuntimeError("the stand-in serves no TLS")
        return self._certificate

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this stand-in's certificate, and nothing else."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The SMTP connection settings (camelCase, as `POST /connections` takes them) that
        reach this stand-in."""
        values: dict[str, Any] = {"host": self.host, "port": self.port, "security": self.security}
        if self.username is not None:
            values.update(username=self.username, password=self._password)
        values.update(overrides)
        return values

    async def start(self) -> None:
        if self._server is not None:
            return
        if self.security != "none":
            self._server_tls = await asyncio.to_thread(self._make_certificate)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self.host,
            self._port,
            ssl=self._server_tls if self.security == "tls" else None,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            self.drop_connections()
            await server.wait_closed()
            # a connection accepted while closing (a client retrying just then), and the
            # handlers of all of them, end before the loop does: none is left pending
            self.drop_connections()
            for _ in range(3):
                await asyncio.sleep(0)
            for protocol in list(self._open):
                handler = getattr(protocol, "_handler_coroutine", None)
                if handler is not None and not handler.done():
                    handler.cancel()
            await asyncio.sleep(0)
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    async def __aenter__(self) -> SmtpStandin:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- fates ------------------------------------------------------------------------------

    def reject(
        self, address: str, code: int = 550, text: str = "5.1.1 Mailbox unavailable"
    ) -> None:
        """Answer RCPT TO `address` with `code text` from now on."""
        self._rejected[address.lower()] = _Fate(code, text)

    def answer_next(self, n: int, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer DATA with `code text` for the next `n` messages (none is kept)."""
        self._next = _Fate(code, text, n)

    def drop_connections(self) -> None:
        """Close every open connection from the server's side."""
        for protocol in list(self._open):
            transport = protocol.transport
            if transport is not None:
                transport.close()

    # --- the server -------------------------------------------------------------------------

    def _protocol(self) -> SMTP:
        self.connections += 1
        # AUTH is required by `handle_MAIL`, not by aiosmtpd's `auth_required`, which warns
        # on every connection when TLS is not required too.
        protocol = _FastSMTP(
            _Handler(self, self.connections),
            hostname=self.hostname,
            ident="Tidings SMTP stand-in",
            tls_context=self._server_tls if self.security == "starttls" else None,
            require_starttls=self.security == "starttls",
            auth_require_tls=False,
            authenticator=self._authenticate if self.username is not None else None,
            enable_SMTPUTF8=True,
            loop=asyncio.get_running_loop(),
        )
        self._open.add(protocol)
        return protocol

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.username is not None and self._password:
            user_ok = hmac.compare_digest(data.login, self.username.encode())
            password_ok = hmac.compare_digest(data.password, self._password.encode())
            if user_ok and password_ok:
                return AuthResult(success=True, auth_data=self.username)
        self.auth_failures += 1
        return AuthResult(success=False, handled=False)

    def _make_certificate(self) -> ssl.SSLContext:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the SMTP stand-in needs the openssl command for TLS")
        self._folder = tempfile.TemporaryDirectory(prefix="smtp-standin-")
        folder = Path(self._folder.name)
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", f"/CN={self.hostname}",
             "-addext", f"subjectAltName=DNS:{self.hostname},IP:127.0.0.1"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self._certificate = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    def _accept(self, envelope: Envelope, session: Session, connection: int) -> None:
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        self.count += 1
        found = message_id_of(data)
        if found is not None:
            if found in self.message_ids:
                self.duplicates += 1
            else:
                self.message_ids.add(found)
        if self.keep:
            user = session.auth_data if isinstance(session.auth_data, str) else None
            self.received.append(
                Received(
                    envelope.mail_from or "",
                    tuple(envelope.rcpt_tos),
                    data,
                    connection,
                    user,
                    session.ssl is not None or self.security == "tls",
                )
            )


class _Handler:
    """aiosmtpd's hooks for one connection."""

    def __init__(self, standin: SmtpStandin, connection: int) -> None:
        self._standin = standin
        self._connection = connection

    async def handle_MAIL(
        self,
        _server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self._standin.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        fate = self._standin._rejected.get(address.lower())
        if fate is not None:
            return f"{fate.code} {fate.text}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, _server: SMTP, session: Session, envelope: Envelope) -> str:
        fate = self._standin._next
        if fate.remaining > 0:
            fate.remaining -= 1
            return f"{fate.code} {fate.text}"
        self._standin._accept(envelope, session, self._connection)
        return f"250 2.0.0 OK queued as {self._standin.count}"
