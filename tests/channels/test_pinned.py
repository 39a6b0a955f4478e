"""`PinnedTransport` connects to pinned addresses only, whatever the name would resolve to."""

from __future__ import annotations

import httpx
import pytest

from tests.channels.loopback import Loopback
from tidings.channels.pinned import PinnedTransport, pinned

pytestmark = pytest.mark.anyio


async def test_a_host_without_a_pin_is_not_connected(server: Loopback) -> None:
    async with httpx.AsyncClient(transport=PinnedTransport()) as client:
        with pytest.raises(httpx.ConnectError, match=r"no checked address for 127\.0\.0\.1"):
            await client.get(server.url("/json"))
        with (
            pinned("other.test", ["127.0.0.1"]),
            pytest.raises(httpx.ConnectError, match="no checked address"),
        ):
            await client.get(server.url("/json"))

    assert server.requests == []


async def test_a_pinned_host_is_connected_at_its_address_and_keeps_its_name(
    server: Loopback,
) -> None:
    async with httpx.AsyncClient(transport=PinnedTransport()) as client:
        with pinned("Unresolvable.Test", ["127.0.0.1"]):
            response = await client.get(server.url("/echo", "unresolvable.test"))
            again = await client.get(server.url("/json", "unresolvable.test"))

    assert response.status_code == 200
    assert response.json()["headers"]["host"] == f"unresolvable.test:{server.port}"
    assert again.json()["orderId"] == "o-1"


async def test_failures_are_httpx_errors(closed_port: int) -> None:
    async with httpx.AsyncClient(transport=PinnedTransport()) as client:
        with pinned("127.0.0.1", ["127.0.0.1"]), pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{closed_port}/")
