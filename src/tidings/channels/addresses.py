"""Which addresses `call_api` may reach: the SSRF policy, and the default resolver.

A flow author writes the URL of a `call_api` element, so without a guard any account could
make the server call its own admin ports, the cloud metadata service (169.254.169.254) or
a database on the private network. The rule is an allow-list: an address is reachable
only when the `ipaddress` module calls it global and it is not multicast. Everything else
(private, loopback, link-local, shared/CGNAT, documentation, reserved, unspecified,
multicast) is refused unless the account or the server allows private URLs.

Hosts are read the way the socket layer would read them, so a spelling cannot sneak past:
`2130706433`, `0x7f.1` and `127.1` are 127.0.0.1 (`inet_aton`), `[::ffff:127.0.0.1]` is
judged as the IPv4 address it carries (likewise 6to4, Teredo and the NAT64 prefix), and
`localhost` or `*.localhost` is loopback whatever a resolver says (RFC 6761).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Awaitable[list[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Characters of the IPv4 spellings inet_aton accepts: decimal, octal, hex, short forms.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # pure; a flow calls the same few hosts again and again
def ip_literal(host: str) -> IpAddress | None:
    """The address `host` spells, or None when it is a name to resolve.

    `host` is a URL host without brackets (httpx's `URL.host`), possibly percent-encoded
    (an IPv6 zone: `fe80::1%25eth0`).
    """
    text = unquote(host) if "%" in host else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text) and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def is_localhost_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: IpAddress) -> str | None:
    if address.is_unspecified:
        return "an unspecified"
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_multicast:
        return "a multicast"
    if address.is_private:
        return "a private"
    if address.is_reserved:
        return "a reserved"
    if not address.is_global:
        return "a non-public"
    return None


def forbidden_kind(address: IpAddress) -> str | None:
    """Why `address` may not be called ("a private", "a loopback", ...), None when public.

    An IPv6 address that carries an IPv4 address is judged by both: the IPv4 one decides
    where a translating gateway would connect.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _kind(address.ipv4_mapped)  # the socket layer connects over IPv4
        inner = _embedded_ipv4(address)
        if inner is not None:
            return _kind(inner) or _kind(address)
    return _kind(address)


def refusal(host: str, addresses: list[str]) -> str | None:
    """The plain-words refusal for calling `host` at `addresses`, or None when allowed."""
    literal = ip_literal(host)
    if literal is not None:
        kind = forbidden_kind(literal)
        return None if kind is None else f"refused: {literal} is {kind} address"
    if is_localhost_name(host):
        return f"refused: {host} is a loopback address"
    for text in addresses:
        address = ip_literal(text)
        if address is None:
            return f"refused: {host} resolves to {text!r}, which is not an IP address"
        kind = forbidden_kind(address)
        if kind is not None:
            return f"refused: {host} resolves to {address}, {kind} address"
    return None


async def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for `host`, in its order, without repeats."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found: list[str] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        text = str(sockaddr[0])
        if text not in found:
            found.append(text)
    return found
