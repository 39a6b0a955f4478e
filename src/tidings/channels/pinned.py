"""An aiohttp resolver that answers only with addresses the caller has checked.

Checking a URL's host and then letting the HTTP client resolve it again leaves a window:
a hostile DNS server answers the check with a public address and the connect with
127.0.0.1 (DNS rebinding). So the caller resolves once, checks every address, and pins
them for the duration of the request with `pinned(host, addresses)`; the client's
connector asks this resolver, which answers with the pinned addresses only and refuses a
host with no pin.

Why a resolver rather than rewriting the URL to the IP and setting `Host`: the URL keeps
its hostname, so everything that depends on the name stays right without help: the
`Host` header, TLS SNI, certificate verification against the name, and the connection
pool, which keys connections by host. With a rewritten URL the pool keys by IP, and an
HTTPS connection verified for one name could be reused for another name on the same IP.

The pin travels in a context variable: aiohttp opens a connection from the task that
sends the request (or a task created from it, which copies its context), so the resolver
sees the pin of the request it connects for. The connector's DNS cache is off, so every
new connection asks. A pooled keep-alive connection is reused only for the same host,
port and scheme, and was opened to an address checked for that host, so reuse stays
within what was allowed; callers keep one connector per policy (private addresses
allowed or not) so that pools never mix them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult


@dataclass(frozen=True)
class _Pin:
    host: str
    addresses: tuple[str, ...]


_PIN: ContextVar[_Pin | None] = ContextVar("tidings_pinned_addresses", default=None)


@contextlib.contextmanager
def pinned(host: str, addresses: Iterable[str]) -> Iterator[None]:
    """Within this block, connections to `host` go to `addresses` (in order) only."""
    token = _PIN.set(_Pin(host.lower().rstrip("."), tuple(addresses)))
    try:
        yield
    finally:
        _PIN.reset(token)


class PinnedResolver(AbstractResolver):
    """Resolves a host to its pinned addresses; a host without a pin is an error."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        pin = _PIN.get()
        if pin is None or pin.host != host.lower().rstrip("."):
            raise OSError(f"no checked address for {host}")
        out: list[ResolveResult] = []
        for address in pin.addresses:
            kind = (
                socket.AF_INET6
                if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address)
                else socket.AF_INET
            )
            out.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=kind,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        return out

    async def close(self) -> None:
        return None
