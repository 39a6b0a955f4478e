"""An httpx transport that connects only to addresses the caller has checked.

Checking a URL's host and then letting the HTTP client resolve it again leaves a window:
a hostile DNS server answers the check with a public address and the connect with
127.0.0.1 (DNS rebinding). So the caller resolves once, checks every address, and pins
them for the duration of the request with `pinned(host, addresses)`; this transport's
network backend then connects to those addresses only, and refuses a host with no pin.

Why a network backend rather than rewriting the URL to the IP and setting `Host`: the URL
keeps its hostname, so everything that depends on the name stays right without help: the
`Host` header, TLS SNI, certificate verification against the name, and the connection
pool, which keys connections by host. With a rewritten URL the pool keys by IP, and an
HTTPS connection verified for one name could be reused for another name on the same IP.

The pin travels in a context variable: httpcore opens a connection in the task that sends
the request, so the backend sees the pin of the request it connects for. A pooled
keep-alive connection is reused only for the same host, port and scheme, and was opened
to an address checked for that host, so reuse stays within what was allowed; callers keep
one transport per policy (private addresses allowed or not) so that pools never mix them.

httpcore's exceptions are mapped to httpx's as httpx's own transport does, so this is a
drop-in `httpx.AsyncBaseTransport`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@dataclass(frozen=True)
class _Pin:
    host: str
    addresses: tuple[str, ...]


_PIN: ContextVar[_Pin | None] = ContextVar("tidings_call_api_pin", default=None)


@contextlib.contextmanager
def pinned(host: str, addresses: Iterable[str]) -> Iterator[None]:
    """Within the block, connections to `host` go to `addresses` (tried in order) only.

    `host` is the URL's ASCII host as httpx gives it (`URL.raw_host`, no brackets).
    """
    token = _PIN.set(_Pin(host.lower(), tuple(addresses)))
    try:
        yield
    finally:
        _PIN.reset(token)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _PIN.get()
        if pin is None or pin.host != host.lower() or not pin.addresses:
            raise httpcore.ConnectError(f"refused: no checked address for {host}")
        failure: Exception | None = None
        for address in pin.addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _httpx_errors():
                await close()


class PinnedTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over a connection pool whose every connection goes to a pinned address."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, limits: httpx.Limits | None = None
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
