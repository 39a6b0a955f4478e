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
  checked: the default clients use `pinned.PinnedTransport`, whose network backend dials
  the pinned addresses while the URL keeps its hostname, so `Host`, SNI and certificate
  checks use the name (see `pinned.py` for why not rewrite the URL). Calls that allow
  private addresses use a separate client, so a keep-alive connection to a private
  address is never reused by a call that forbids them. An injected `client` is used as
  given for both kinds; it keeps these guarantees only if built on `PinnedTransport`.
  The default clients ignore proxy settings in the environment: a proxy would resolve
  the name itself.
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
import json
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx

from tidings.channels.addresses import (
    Resolver,
    ip_literal,
    is_localhost_name,
    refusal,
    system_resolver,
)
from tidings.channels.pinned import PinnedTransport, pinned

MAX_BODY_BYTES = 1024 * 1024
_BACKOFF_FIRST = 0.5
_BACKOFF_CAP = 30.0
# Framing and hop-by-hop headers are the HTTP client's business, not the flow's.
_DROPPED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
     "trailer", "upgrade", "proxy-connection", "idempotency-key"}
)  # fmt: skip
_USER_AGENT = "Tidings call_api"
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
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        resolver: Resolver | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._sleep = sleep
        self._resolve = resolver or system_resolver
        self._owned: tuple[httpx.AsyncClient, ...] = ()
        if client is None:
            context = httpx.create_ssl_context()
            public, private = _pinned_client(context), _pinned_client(context)
            self._owned = (public, private)
            self._clients = {False: public, True: private}
        else:
            self._clients = {False: client, True: client}

    async def __aenter__(self) -> CallApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the clients this instance made; an injected client stays its owner's."""
        for client in self._owned:
            await client.aclose()

    async def call(self, request: ApiRequest, *, allow_private: bool | None = None) -> ApiResult:
        """Send `request`, retrying as the module doc says; never raises for I/O trouble."""
        allow = self._allow_private if allow_private is None else allow_private
        client = self._clients[allow]
        prepared = _prepare(client, request)
        if isinstance(prepared, str):
            result = _failure(prepared)
        else:
            result = await self._tries(client, prepared, request, allow)
        _log.debug(
            "call_api %s %s: %s after %d tries",
            request.method.upper(),
            _origin(request.url),
            result.status if result.status is not None else result.error,
            result.attempts,
        )
        return result

    async def _tries(
        self, client: httpx.AsyncClient, prepared: httpx.Request, request: ApiRequest, allow: bool
    ) -> ApiResult:
        tries = max(0, request.retries) + 1
        attempt = 0
        while True:
            attempt += 1
            result, again = await self._try(client, prepared, request.timeout_seconds, allow)
            if not again or attempt >= tries:
                return replace(result, attempts=attempt)
            await self._sleep(backoff(attempt))

    async def _try(
        self, client: httpx.AsyncClient, prepared: httpx.Request, seconds: float, allow: bool
    ) -> tuple[ApiResult, bool]:
        """One try: the result and whether another try may help."""
        host = prepared.url.raw_host.decode("ascii")
        timed_out = _failure(f"timed out after {seconds:g} s")
        try:
            async with asyncio.timeout(seconds):
                addresses = await self._addresses(host, allow)
                if isinstance(addresses, tuple):
                    return addresses
                with pinned(host, addresses):
                    return await _exchange(client, prepared)
        except (TimeoutError, httpx.TimeoutException):
            return timed_out, True
        except httpx.ConnectError as exc:
            # A certificate that does not fit will not fit on the next try either.
            final = _caused_by(exc, ssl.SSLCertVerificationError)
            return _failure(f"could not connect to {host}: {_reason(exc)}"), not final
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            return _failure(f"connection lost: {_reason(exc)}"), True
        except httpx.HTTPError as exc:
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


def _pinned_client(context: ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=PinnedTransport(ssl_context=context), follow_redirects=False, trust_env=False
    )


def _prepare(client: httpx.AsyncClient, request: ApiRequest) -> httpx.Request | str:
    """The httpx request to send on every try, or why there is none to send."""
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
    headers = httpx.Headers(
        {name: value for name, value in request.headers.items()
         if name.lower() not in _DROPPED_HEADERS}
    )  # fmt: skip
    if request.idempotency_key:
        headers["Idempotency-Key"] = request.idempotency_key
    headers.setdefault("Accept-Encoding", "identity")
    headers.setdefault("User-Agent", _USER_AGENT)
    try:
        return client.build_request(
            request.method.upper(),
            url,
            headers=headers,
            content=None if request.body is None else request.body.encode(),
            timeout=httpx.Timeout(request.timeout_seconds),
        )
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError) as exc:
        return f"invalid request: {exc}"


async def _exchange(client: httpx.AsyncClient, prepared: httpx.Request) -> tuple[ApiResult, bool]:
    response = await client.send(prepared, stream=True, follow_redirects=False)
    try:
        raw = await _read_bounded(response)
    finally:
        await response.aclose()
    status = response.status_code
    if raw is None:
        data = {"status": status, "body": None, "headers": _headers(response)}
        return ApiResult("failure", status, data, "response too large (over 1 MB)"), False
    data = _data(response, raw)
    if 200 <= status < 300:
        return ApiResult("success", status, data), False
    error = f"HTTP {status} {response.reason_phrase}".rstrip()
    if 300 <= status < 400:
        error += ": redirects are not followed"
    return ApiResult("failure", status, data, error), status >= 500


async def _read_bounded(response: httpx.Response) -> bytes | None:
    """The body, or None when it is larger than `MAX_BODY_BYTES`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(response: httpx.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def _data(response: httpx.Response, raw: bytes) -> dict[str, Any]:
    headers = _headers(response)
    body = _body(raw, headers.get("content-type", ""), response.charset_encoding)
    data: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    data.update(status=response.status_code, body=body, headers=headers)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _body(raw: bytes, content_type: str, charset: str | None) -> Any:
    """JSON when the answer says so (or, untyped, looks so), else text."""
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    media = content_type.split(";", 1)[0].strip().lower()
    is_json = media == "application/json" or media.endswith("+json")
    if is_json or (not media and text.lstrip()[:1] in ("{", "[")):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return text
    return text


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(seen, kind) for seen in _chain(exc))


def _reason(exc: BaseException) -> str:
    """Plain words for a transport error, from the most telling exception in its chain."""
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
