"""The SMTP provider: email through the account's own mail server, with `aiosmtplib`.

- **Settings** (`SmtpSettings`, camelCase as `POST /connections` takes them): `host`,
  `port` (default by `security`: 25 for `none`, 587 for `starttls`, 465 for `tls`),
  `security` (`none`: plain, never upgraded; `starttls`: STARTTLS required; `tls`: implicit
  TLS), `username` and `password` (AUTH when a username is set; `password` is the secret,
  `SECRETS`), `domain` (the right-hand side of Message-IDs and the EHLO name; default: the
  sender's domain for Message-IDs and the system's name for EHLO), `timeoutSeconds` (each
  SMTP step) and `maxConnections` (4).
- **Connections** are pooled and kept open across batches (`maxConnections` at most, a
  batch's messages spread over them, each connection sending one message after another).
  A connection the server dropped is replaced; a message whose connection was lost before
  its content was sent is tried once more on a new connection at once.
- **Private-address guard**, as `call_api`'s: each new connection resolves the host (the
  injectable `resolver`), refuses private, loopback, link-local and other non-public
  addresses unless `allow_private`, and dials exactly the checked address, while TLS
  (STARTTLS or implicit) verifies the certificate against the host name (SNI too). A
  refusal fails the messages and connects nowhere.
- **Messages**: `email_message.render` (multipart/alternative, List-Unsubscribe, a
  Message-ID carrying the outbox id); envelope sender and recipient are the addresses of
  `From` and `To`. A message with a non-ASCII local part goes with SMTPUTF8 when the server
  offers it and fails otherwise.
- **Answers** (one `SendResult` per message, never an exception for network or protocol
  trouble): 250 after DATA -> `accepted`; a 4xx reply (to MAIL, RCPT or DATA), a timeout,
  a lost connection or a refused one -> `retry`; a 5xx reply (550 mailbox unavailable, 553,
  554 ...) -> `failed` with the server's reply (`"550 5.1.1 Mailbox unavailable"`), for that
  message only. Trouble opening a connection applies to the messages no other connection
  could take: a refused address, an untrusted certificate, a server without STARTTLS when
  it is required, or a rejected login (535) -> `failed`; the rest -> `retry`. The password
  is never part of a reason or a log line (scrubbed even if a server echoed it).
- **Cost** (measured against the stand-in in another process, 8 connections, on a busy
  2-core machine): 2,000-2,500 emails/s; about 200 us of CPU per email here, plus about
  70 us to derive the text part of an HTML-only email. Most of the rest is the four
  round trips of an SMTP transaction (MAIL, RCPT, DATA, content): aiosmtplib does not
  pipeline.
- **Callbacks**: SMTP has none (bounces arrive as email, not as webhooks), so
  `delivery_reports` and `inbound_messages` refuse with `CallbackRefused("provider", ...,
  404)`: a request to an SMTP connection's webhook URL is a 404 that changes nothing,
  rather than an empty 200 that would hide a misconfigured sender.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tidings.channels.addresses import (
    Resolver,
    ip_literal,
    is_localhost_name,
    refusal,
    system_resolver,
)
from tidings.channels.email_message import InvalidEmail, address, render
from tidings.channels.providers import (
    Callback,
    CallbackRefused,
    Inbound,
    Outgoing,
    Report,
    SendResult,
    Webhooks,
)

SECRETS = frozenset({"password"})
Security = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}

_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", re.IGNORECASE)
_REASON_LENGTH = 300
_QUIT_SECONDS = 2.0

_log = logging.getLogger(__name__)


class SmtpSettings(BaseModel):
    """An SMTP connection's settings, as `POST /connections` takes them (camelCase)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Security = "starttls"
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = None
    domain: str | None = Field(default=None, max_length=253)
    timeout_seconds: float = Field(default=30.0, alias="timeoutSeconds", gt=0, le=300)
    max_connections: int = Field(default=4, alias="maxConnections", ge=1, le=32)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        host = value.strip().removeprefix("[").removesuffix("]")
        if ip_literal(host) is not None:
            return host
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise ValueError("must be a host name or an IP address") from exc
        if not _HOSTNAME.fullmatch(host):
            raise ValueError("must be a host name or an IP address")
        return host.lower().rstrip(".")

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _HOSTNAME.fullmatch(value) or "_" in value:
            raise ValueError("must be a domain name")
        return value.lower().rstrip(".")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and any(c in value for c in "\r\n\x00"):
            raise ValueError("must not contain line breaks")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


class _Trouble(Exception):
    """Why a connection could not be opened: the result of the messages it would have sent."""

    def __init__(self, status: Literal["failed", "retry"], reason: str) -> None:
        super().__init__(reason)
        self.status: Literal["failed", "retry"] = status
        self.reason = reason


@dataclass(slots=True)
class _Job:
    index: int
    id: str
    sender: str
    to: str
    data: bytes
    utf8: bool
    tried_again: bool = False


class SmtpProvider:
    """Sends email over a small pool of SMTP connections (see the module doc)."""

    name: ClassVar[str] = "smtp"
    channels: ClassVar[frozenset[str]] = frozenset({"email"})
    max_batch: ClassVar[int] = 100

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._allow_private = allow_private
        self._resolve = resolver or system_resolver
        self._tls = tls_context
        self._password = settings.password.get_secret_value() if settings.password else None
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.max_connections)
        self._closed = False
        self.connections_opened = 0  # for tests and metrics

    # --- the seam ---------------------------------------------------------------------------

    async def send(self, batch: Sequence[Outgoing], webhooks: Webhooks) -> list[SendResult]:
        """One result per message of `batch`, in order; never raises for I/O trouble."""
        results: list[SendResult | None] = [None] * len(batch)
        jobs: deque[_Job] = deque()
        now = datetime.now(UTC)
        for index, outgoing in enumerate(batch):
            prepared = self._prepare(index, outgoing, now)
            if isinstance(prepared, SendResult):
                results[index] = prepared
            else:
                jobs.append(prepared)
        if jobs:
            trouble = await self._deliver_all(jobs, results)
            for job in jobs:  # what no connection could take
                assert trouble is not None
                results[job.index] = SendResult(job.id, trouble.status, trouble.reason)
        final = [result for result in results if result is not None]
        assert len(final) == len(batch)
        if _log.isEnabledFor(logging.DEBUG):
            counts = {s: sum(r.status == s for r in final) for s in ("accepted", "failed", "retry")}
            _log.debug("smtp %s: %s", self._where(), counts)
        return final

    def delivery_reports(self, callback: Callback) -> list[Report]:
        raise CallbackRefused("provider", "smtp connections take no callbacks", 404)

    def inbound_messages(self, callback: Callback) -> list[Inbound]:
        raise CallbackRefused("provider", "smtp connections take no callbacks", 404)

    async def aclose(self) -> None:
        """Say QUIT on the idle connections and close them; busy ones close when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.quit(timeout=_QUIT_SECONDS)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
            finally:
                connection.close()

    async def __aenter__(self) -> SmtpProvider:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # --- messages ---------------------------------------------------------------------------

    def _prepare(self, index: int, outgoing: Outgoing, now: datetime) -> _Job | SendResult:
        if outgoing.channel != "email":
            return SendResult(outgoing.id, "failed", f"smtp sends email, not {outgoing.channel}")
        try:
            sender = address("from", outgoing.sender)[1]
            to = address("to", outgoing.to)[1]
            domain = self._settings.domain or sender.rpartition("@")[2]
            data = render(outgoing, domain=domain, now=now)
        except InvalidEmail as exc:
            return SendResult(outgoing.id, "failed", f"invalid email: {exc}")
        return _Job(index, outgoing.id, sender, to, data, not data.isascii())

    async def _deliver_all(
        self, jobs: deque[_Job], results: list[SendResult | None]
    ) -> _Trouble | None:
        """Send `jobs` over up to `maxConnections` connections; leaves in `jobs` what none
        could take, and answers why."""
        trouble: _Trouble | None = None

        async def worker() -> None:
            nonlocal trouble
            while jobs:
                try:
                    connection = await self._acquire()
                except _Trouble as exc:
                    trouble = exc
                    return
                healthy = True
                try:
                    while jobs and healthy:
                        job = jobs.popleft()
                        healthy = False  # until the exchange ends: a cancelled one is closed
                        result, healthy = await self._deliver(connection, job)
                        if result is None:  # lost before the content went: once more, anew
                            job.tried_again = True
                            jobs.appendleft(job)
                        else:
                            results[job.index] = result
                finally:
                    self._release(connection, healthy)

        workers = min(len(jobs), self._settings.max_connections)
        await asyncio.gather(*(worker() for _ in range(workers)))
        return trouble

    async def _deliver(
        self, connection: aiosmtplib.SMTP, job: _Job
    ) -> tuple[SendResult | None, bool]:
        """Send one message; its result (None: try again on a new connection) and whether
        the connection can go on."""
        timeout = self._settings.timeout_seconds
        options: list[str] = []
        encoding = "ascii"
        content_sent = False
        try:
            if job.utf8:
                if not connection.supports_extension("smtputf8"):
                    reason = "the server does not take non-ASCII addresses (no SMTPUTF8)"
                    return SendResult(job.id, "failed", reason), True
                options += ["SMTPUTF8", "BODY=8BITMIME"]
                encoding = "utf-8"
            if connection.supports_extension("size"):
                options.insert(0, f"SIZE={len(job.data)}")
            # The commands themselves, not aiosmtplib's mail()/rcpt(): those parse each
            # address again (parseaddr, twice per message); ours are checked and quoted.
            mail = [b"FROM:<" + job.sender.encode(encoding) + b">"]
            mail += [option.encode("ascii") for option in options]
            answer = await connection.execute_command(b"MAIL", *mail, timeout=timeout)
            if answer.code != 250:
                raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, job.sender)
            to = b"TO:<" + job.to.encode(encoding) + b">"
            answer = await connection.execute_command(b"RCPT", to, timeout=timeout)
            if answer.code not in (250, 251):
                raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, job.to)
            content_sent = True
            await connection.data(job.data, timeout=timeout)
        except aiosmtplib.SMTPResponseException as exc:
            keep = exc.code != 421 and await self._reset(connection)
            return self._answer(job, exc.code, exc.message), keep
        except TimeoutError:  # aiosmtplib's SMTPTimeoutError too; before OSError, its base
            return SendResult(job.id, "retry", f"timed out after {timeout:g} s"), False
        except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            if not content_sent and not job.tried_again:
                return None, False
            return SendResult(job.id, "retry", f"connection lost: {self._scrub(str(exc))}"), False
        except (aiosmtplib.SMTPException, ValueError) as exc:
            # aiosmtplib refuses an address it cannot quote (ValueError), or the like.
            keep = await self._reset(connection)
            return SendResult(job.id, "failed", f"not sent: {self._scrub(str(exc))}"), keep
        return SendResult(job.id, "accepted"), True

    def _answer(self, job: _Job, code: int, message: str) -> SendResult:
        reason = self._reply(code, message)
        status: Literal["failed", "retry"] = "failed" if 500 <= code < 600 else "retry"
        return SendResult(job.id, status, reason)

    def _reply(self, code: int, message: str) -> str:
        text = " ".join(message.split())
        return self._scrub(f"{code} {text}".strip())[:_REASON_LENGTH]

    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    async def _reset(self, connection: aiosmtplib.SMTP) -> bool:
        """RSET after a refused step; whether the connection is still usable."""
        if not connection.is_connected:
            return False
        try:
            await connection.rset(timeout=self._settings.timeout_seconds)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            return False
        return True

    # --- the pool ---------------------------------------------------------------------------

    async def _acquire(self) -> aiosmtplib.SMTP:
        """An open connection, idle or new, or `_Trouble`."""
        await self._slots.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if connection.is_connected:
                    return connection
                connection.close()
            return await self._open()
        except BaseException:
            self._slots.release()
            raise

    def _release(self, connection: aiosmtplib.SMTP, healthy: bool) -> None:
        if healthy and not self._closed and connection.is_connected:
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.effective_port}"

    async def _open(self) -> aiosmtplib.SMTP:
        seconds = self._settings.timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                return await self._connect()
        except _Trouble as trouble:
            _log.warning("smtp %s: %s", self._where(), trouble.reason)
            raise
        except TimeoutError:
            failure = _Trouble("retry", f"could not connect to {self._where()}: timed out")
        except Exception as exc:  # anything else aiosmtplib or ssl raise while connecting
            failure = self._connect_trouble(exc)
        _log.warning("smtp %s: %s", self._where(), failure.reason)
        raise failure

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        addresses = await self._addresses(settings.host)
        sock = await _dial(addresses, settings.effective_port)
        context = self._tls_context() if settings.security != "none" else None
        connection = aiosmtplib.SMTP(
            hostname=settings.host,  # with `sock`: only the name TLS verifies (and SNI)
            sock=sock,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            tls_context=context,
            username=settings.username,
            password=self._password,
            local_hostname=settings.domain,
            timeout=settings.timeout_seconds,
        )
        try:
            await connection.connect()
            if connection.is_ehlo_or_helo_needed:
                await connection.ehlo()
        except BaseException:
            connection.close()
            sock.close()
            raise
        self.connections_opened += 1
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        """The injected context, else the system's trust store (loaded once)."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _addresses(self, host: str) -> list[str]:
        """The checked addresses to dial (see `call_api._addresses`), or `_Trouble`."""
        allow = self._allow_private
        if not allow and is_localhost_name(host):
            raise _Trouble("failed", f"refused: {host} is a loopback address")
        literal = ip_literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host)
            except (OSError, UnicodeError):
                addresses = []
            if not addresses:
                raise _Trouble("retry", f"could not resolve {host}")
        if not allow:
            refused = refusal(host, addresses)
            if refused is not None:
                raise _Trouble("failed", refused)
        return addresses

    def _connect_trouble(self, exc: BaseException) -> _Trouble:
        where = self._where()
        for seen in _chain(exc):
            if isinstance(seen, ssl.SSLCertVerificationError):
                reason = f"certificate not trusted ({seen.verify_message})"
                return _Trouble("failed", f"could not connect to {where}: {reason}")
            if isinstance(seen, ConnectionRefusedError):
                return _Trouble("retry", f"could not connect to {where}: connection refused")
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            status: Literal["failed", "retry"] = "failed" if exc.code >= 500 else "retry"
            return _Trouble(status, f"login refused: {self._reply(exc.code, exc.message)}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            status = "failed" if 500 <= exc.code < 600 else "retry"
            return _Trouble(status, f"{where} answered {self._reply(exc.code, exc.message)}")
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            return _Trouble("retry", f"could not connect to {where}: timed out")
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
            return _Trouble("retry", f"could not connect to {where}: {self._scrub(str(exc))}")
        if isinstance(exc, aiosmtplib.SMTPException):
            text = self._scrub(str(exc))
            if "starttls" in text.lower():
                return _Trouble("failed", f"{where} does not offer STARTTLS")
            if "auth" in text.lower():
                return _Trouble("failed", f"{where}: {text}")
            return _Trouble("retry", f"{where}: {text}")
        if isinstance(exc, ssl.SSLError):
            return _Trouble("failed", f"could not connect to {where}: TLS failed ({exc.reason})")
        if isinstance(exc, OSError):
            return _Trouble("retry", f"could not connect to {where}: {exc.strerror or exc}")
        return _Trouble("retry", f"could not connect to {where}: {type(exc).__name__}")


async def _dial(addresses: list[str], port: int) -> socket.socket:
    """A TCP socket connected to the first of `addresses` that answers."""
    loop = asyncio.get_running_loop()
    last: OSError = OSError("no address to connect to")
    for text in addresses:
        family = socket.AF_INET6 if ":" in text else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (text, port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
