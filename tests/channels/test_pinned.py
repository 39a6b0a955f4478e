"""`PinnedResolver` answers with pinned addresses only, whatever the name would resolve to."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from tests.channels.loopback import Loopback
from tidings.channels.pinned import PinnedResolver, pinned

pytestmark = pytest.mark.anyio


async def test_a_host_without_a_pin_is_not_resolved() -> None:
    resolver = PinnedResolver()
    with pytest.raises(OSError, match=r"no checked address for api\.test"):
        await resolver.resolve("api.test", 443)
    with pinned("other.test", ["127.0.0.1"]), pytest.raises(OSError, match="no checked"):
        await resolver.resolve("api.test", 443)


async def test_pinned_addresses_come_back_in_order_with_their_family() -> None:
    with pinned("API.Test.", ["::1", "127.0.0.1"]):
        found = await PinnedResolver().resolve("api.test", 8080)

    assert [(r["host"], r["port"], r["family"], r["hostname"]) for r in found] == [
        ("::1", 8080, socket.AF_INET6, "api.test"),
        ("127.0.0.1", 8080, socket.AF_INET, "api.test"),
    ]


async def test_a_pinned_host_is_connected_at_its_address_and_keeps_its_name(
    server: Loopback,
) -> None:
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(), use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pinned("Unresolvable.Test", ["127.0.0.1"]):
            async with session.get(server.url("/echo", "unresolvable.test")) as response:
                echoed = await response.json()
            async with session.get(server.url("/json", "unresolvable.test")) as again:
                order = await again.json()

    assert response.status == 200
    assert echoed["headers"]["host"] == f"unresolvable.test:{server.port}"
    assert order["orderId"] == "o-1"
