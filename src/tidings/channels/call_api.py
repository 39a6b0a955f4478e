"""The HTTP adapter behind the flow element `call_api`: one request in, one `ApiResult` out.

`CallApi.call` never raises for network or protocol trouble; every ending is a value:
success for a 2xx answer, failure with plain words for anything else. What it guarantees:

- **Retries** (`ApiRequest.retries` extra tries) only after a connection error, a timeout
  or a 5xx, waiting 0.5 s, 1 s, 2 s, ... (no jitter; the sleep is injectable). Every try
  carries the same `Idempotency-Key` (the outbox id), so a receiver can drop a duplicate.
  A 4xx, a refusal, an untrusted certificate or a too-large answer is final.
- **SSRF guard.** Only http and https. The host is resolved once per try, by an injectable
  resolver, and every address is judged by `addresses.refusal`: private, loopback,
  link-local, multicast, reserved and unspecified addresses (IPv4 and IPv6, IPv4-mapped,
  `localhost`, `2130706433`-style spellings) are refused before anything is sent, unless
  private URLs are allowed (the account setting `allowPrivateUrls` per call, or the server
  default `TIDINGS_ALLOW_PRIVATE_URLS` given to the constructor).
- **No DNS rebinding.** The request then connects to exactly the addresses that were
  checked: the aiohttp connectors resolve through `pinned.PinnedResolver`, which answers
  with the pinned addresses while the URL keeps its hostname, so `Host`, SNI and
  certificate checks use the name (see `pinned.py` for why not rewrite the URL). Calls
  that allow private addresses use a separate session, so a keep-alive connection to a
  private address is never reused by a call that forbids them. The sessions ignore proxy
  settings in the environment: a proxy would resolve the name itself.
- **Why aiohttp.** Measured on this machine against a loopback sink, 64 calls in flight:
  httpx with httpcore cost about 1 ms of CPU per call (its pool looks over every pooled
  connection on every request), aiohttp about 0.13 ms; `call_api` is on the path of the
  journey benchmarked against other tools.
- **Redirects are not followed**: a 3xx is a failure carrying its status, because a
  redirect would need the whole check again and webhook receivers rarely redirect.
- **Bounds**: a try lasts at most `timeout_seconds` in all (resolve, connect, send and
  read); the body is read up to 1 MB, a larger one is a failure ("response too large").
  `Accept-Encoding: identity` is asked for unless the flow sets it; a server that
  compresses anyway is bounded per decoded chunk, so memory stays within tens of MB.

Headers are never logged (they carry API keys); log lines name the method, scheme and host.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import aiohttp
import httpx
import yarl

from tidings.channels.addresses import (
    Resolver,
    ip_literal,
    is_localhost_name,
    refusal,
    system_resolver,
)
from tidings.channels.json_text import loads as json_loads
from tidings.channels.pinned import PinnedResolver, pinned

MAX_BODY_BYTES = 1024 * 1024
_BACKOFF_FIRST = 0.5
_BACKOFF_CAP = 30.0
# Framing and hop-by-hop headers are the HTTP client's business, not the flow's.
_DROPPED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
     "trailer", "upgrade", "proxy-connection", "idempotency-key"}
)  # fmt: skip
_USER_AGENT = "Tidings call_api"
# An HTTP token (RFC 9110): what a method or a header name may be.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What a resolvable name may hold once httpx has IDNA-encoded it (`_` occurs in practice).
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", re.IGNORECASE)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiRequest:
    """One `call_api` request, templates already rendered."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    timeout_seconds: float = 10.0
    retries: int = 2
    idempotency_key: str = ""  # the outbox id; sent as header Idempotency-Key on every try
    # A 2xx answer's body as the caller reads it fast (a provider's commonest answer:
    # channels/infobip_wire.py); None from it, and any other answer: parsed as below.
    read: Callable[[bytes], Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ApiResult:
    """How the call ended. `data` is what `assign` reads as `response.x`.

    `data` holds `status`, `body` (parsed JSON, else text) and `headers` (lower-case
    names), plus the top-level keys of a JSON object body, so `response.orderId` works;
    the three named keys win over body keys of the same name. It is empty when no answer
    came.
    """

    outcome: Literal["success", "failure"]
    status: int | None
    data: Mapping[str, Any]
    error: str | None = None
    attempts: int = 1


def _failure(error: str) -> ApiResult:
    return ApiResult("failure", None, {}, error)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed try number `attempt` (1-based): 0.5, 1, 2, ... <= 30."""
    return min(_BACKOFF_FIRST * 2.0 ** (attempt - 1), _BACKOFF_CAP)


class CallApi:
    """Sends `call_api` requests; one instance serves every account (see the module doc)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 64,
    ) -> None:
        self._allow_private = allow_private
        self._sleep = sleep
        self._resolve = resolver or system_resolver
        self._ssl = ssl_context
        self._connections = connections
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _session(self, allow: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(allow)
        if session is None:
            connector = aiohttp.TCPConnector(
                resolver=PinnedResolver(),
                use_dns_cache=False,
                limit=self._connections,
                ssl=self._ssl if self._ssl is not None else True,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
                skip_auto_headers=("Content-Type",),
            )
            self._sessions[allow] = session
        return session

    async def __aenter__(self) -> CallApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    async def call(self, request: ApiRequest, *, allow_private: bool | None = None) -> ApiResult:
        """Send `request`, retrying as the module doc says; never raises for I/O trouble."""
        allow = self._allow_private if allow_private is None else allow_private
        prepared = _prepare(request)
        if isinstance(prepared, str):
            result = _failure(prepared)
        else:
            result = await self._tries(self._session(allow), prepared, request, allow)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "call_api %s %s: %s after %d tries",
                request.method.upper(),
                _origin(request.url),
                result.status if result.status is not None else result.error,
                result.attempts,
            )
        return result

    async def _tries(
        self, session: aiohttp.ClientSession, prepared: _Prepared, request: ApiRequest, allow: bool
    ) -> ApiResult:
        tries = max(0, request.retries) + 1
        attempt = 0
        while True:
            attempt += 1
            result, again = await self._try(session, prepared, request.timeout_seconds, allow)
            if not again or attempt >= tries:
                return replace(result, attempts=attempt)
            await self._sleep(backoff(attempt))

    async def _try(
        self, session: aiohttp.ClientSession, prepared: _Prepared, seconds: float, allow: bool
    ) -> tuple[ApiResult, bool]:
        """One try: the result and whether another try may help."""
        host = prepared.host
        timed_out = _failure(f"timed out after {seconds:g} s")
        try:
            async with asyncio.timeout(seconds):
                addresses = await self._addresses(host, allow)
                if isinstance(addresses, tuple):
                    return addresses
                with pinned(host, addresses):
                    return await _exchange(session, prepared)
        except TimeoutError:
            return timed_out, True
        except aiohttp.ClientConnectorCertificateError as exc:
            # A certificate that does not fit will not fit on the next try either.
            reason = f"certificate not trusted ({_verify_message(exc.certificate_error)})"
            return _failure(f"could not connect to {host}: {reason}"), False
        except aiohttp.ClientConnectorError as exc:
            return _failure(f"could not connect to {host}: {_reason(exc.os_error)}"), True
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientOSError,
            aiohttp.ClientPayloadError,
        ) as exc:
            return _failure(f"connection lost: {_reason(exc)}"), True
        except (aiohttp.ClientError, ValueError) as exc:
            return _failure(f"request failed: {_reason(exc)}"), False

    async def _addresses(self, host: str, allow: bool) -> list[str] | tuple[ApiResult, bool]:
        """The checked addresses to connect to, or the failure that ends this try.

        A name that does not resolve may resolve on the next try; a refusal is final.
        """
        if not allow and is_localhost_name(host):
            return _failure(f"refused: {host} is a loopback address"), False
        literal = ip_literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host)
            except (OSError, UnicodeError):  # UnicodeError: a label too long for DNS
                addresses = []
            if not addresses:
                return _failure(f"could not resolve {host}"), True
        if not allow:
            refused = refusal(host, addresses)
            if refused is not None:
                return _failure(refused), False
        return addresses


@dataclass(frozen=True)
class _Prepared:
    """The request sent on every try."""

    method: str
    url: yarl.URL
    host: str
    headers: dict[str, str]
    body: bytes | None
    read: Callable[[bytes], Any] | None = None


def _prepare(request: ApiRequest) -> _Prepared | str:
    """The request to send on every try, or why there is none to send."""
    try:
        url = httpx.URL(request.url)
    except (httpx.InvalidURL, TypeError) as exc:
        return f"invalid URL: {exc}"
    if url.scheme not in ("http", "https"):
        return f"refused: only http and https URLs are allowed, not {url.scheme or 'none'!r}"
    host = url.raw_host.decode("ascii")
    if not host:
        return "invalid URL: it has no host"
    if ip_literal(host) is None and not _HOSTNAME.fullmatch(host):
        return f"invalid URL: {url.host!r} is not a host name"
    if url.port is not None and not 0 < url.port < 65536:
        return f"invalid URL: port {url.port} is out of range"
    method = request.method.upper()
    if not _TOKEN.fullmatch(method):
        return f"invalid request: {request.method!r} is not an HTTP method"
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        if name.lower() in _DROPPED_HEADERS:
            continue
        if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\x00"):
            return f"invalid request: header {name!r} is not a valid header"
        headers[name] = value
    lower = {name.lower() for name in headers}
    if request.idempotency_key:
        headers["Idempotency-Key"] = request.idempotency_key
    if "accept-encoding" not in lower:
        headers["Accept-Encoding"] = "identity"
    if "user-agent" not in lower:
        headers["User-Agent"] = _USER_AGENT
    try:
        target = yarl.URL(str(url), encoded=True)
        literal = ip_literal(host)
        if literal is not None and str(literal) != host.strip("[]"):
            # Legacy spellings (`2130706433`, `0x7f.1`) are sent in canonical form.
            target = target.with_host(str(literal))
            host = str(literal)
    except (ValueError, TypeError) as exc:
        return f"invalid URL: {exc}"
    body = None if request.body is None else request.body.encode()
    return _Prepared(method, target, host, headers, body, request.read)


async def _exchange(session: aiohttp.ClientSession, prepared: _Prepared) -> tuple[ApiResult, bool]:
    async with session.request(
        prepared.method,
        prepared.url,
        headers=prepared.headers,
        data=prepared.body,
        allow_redirects=False,
    ) as response:
        raw = await _read_bounded(response)
        status = response.status
        headers = _headers(response)
        if raw is None:
            data = {"status": status, "body": None, "headers": headers}
            return ApiResult("failure", status, data, "response too large (over 1 MB)"), False
        body = None
        if prepared.read is not None and 200 <= status < 300:
            body = prepared.read(raw)
        if body is None:
            body = _body(raw, headers.get("content-type", ""), response.charset)
        reason = response.reason or ""
    data_out: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    data_out.update(status=status, body=body, headers=headers)
    if 200 <= status < 300:
        return ApiResult("success", status, data_out), False
    error = f"HTTP {status} {reason}".rstrip()
    if 300 <= status < 400:
        error += ": redirects are not followed"
    return ApiResult("failure", status, data_out, error), status >= 500


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None when it is larger than `MAX_BODY_BYTES`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def _verify_message(error: BaseException) -> str:
    message = getattr(error, "verify_message", None)
    return str(message or error)


def _body(raw: bytes, content_type: str, charset: str | None) -> Any:
    """JSON when the answer says so (or, untyped, looks so), else text."""
    media = content_type.split(";", 1)[0].strip().lower()
    is_json = media == "application/json" or media.endswith("+json")
    if is_json and (charset or "utf-8").lower() in ("utf-8", "utf8"):
        try:  # the bytes as they came (most answers): no decoding to text and back
            return json_loads(raw)
        except (ValueError, RecursionError):
            pass  # a byte-order mark, bytes that are not UTF-8, not JSON: as text below
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    if is_json or (not media and text.lstrip()[:1] in ("{", "[")):
        try:
            return json_loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _reason(exc: BaseException | None) -> str:
    """Plain words for a transport error, from the most telling exception in its chain."""
    if exc is None:
        return "unknown error"
    for seen in _chain(exc):
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({seen.verify_message})"
    return str(exc) or type(exc).__name__


def _origin(url: str) -> str:
    """Scheme, host and port of `url`, for logs: paths and queries may hold secrets."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
