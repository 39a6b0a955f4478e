"""The SSRF guard of `CallApi`: what is refused before any byte is sent, and what is let through.

The loopback server stands in for an internal service: a refused call must leave it with
no request. Addresses outside this machine appear only in calls that must be refused.
"""

from __future__ import annotations

import pytest

from tests.channels.loopback import Loopback
from tests.channels.test_call_api import Names, get
from tidings.channels.call_api import CallApi

pytestmark = pytest.mark.anyio

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "LocalHost.",
    "app.localhost",
    "[::1]",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "2130706433",
    "0x7f.1",
    "127.1",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_loopback_is_refused_by_default(server: Loopback, host: str) -> None:
    names = Names()
    async with CallApi(resolver=names) as api:
        result = await api.call(get(server.url("/json", host)))

    assert (result.outcome, result.status, result.attempts) == ("failure", None, 1)
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert server.requests == []
    assert names.asked == []


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://100.64.0.1/", "100.64.0.1 is a non-public address"),
        ("http://[::ffff:10.0.0.5]/", "::ffff:a00:5 is a private address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is a link-local address"),
    ],
)
async def test_private_addresses_are_refused(url: str, error: str) -> None:
    async with CallApi() as api:
        result = await api.call(get(url))

    assert result.error == f"refused: {error}"


async def test_a_name_resolving_to_a_private_address_is_refused(server: Loopback) -> None:
    names = Names({"hooks.example.com": ["10.0.0.5"]})
    async with CallApi(resolver=names) as api:
        result = await api.call(get("https://hooks.example.com/order"))

    assert result.error == "refused: hooks.example.com resolves to 10.0.0.5, a private address"
    assert result.attempts == 1


async def test_one_private_answer_among_public_ones_refuses_the_name(server: Loopback) -> None:
    # The rebinding shape: a public answer to pass the check, a loopback one to connect to.
    names = Names({"rebind.example.com": ["93.184.215.14", "127.0.0.1"]})
    async with CallApi(resolver=names) as api:
        result = await api.call(get(f"http://rebind.example.com:{server.port}/json"))

    assert result.error == "refused: rebind.example.com resolves to 127.0.0.1, a loopback address"
    assert server.requests == []


async def test_the_connection_goes_to_the_checked_address_under_the_original_name(
    server: Loopback,
) -> None:
    # The system resolver knows nothing of this name, so reaching the server at all shows
    # that the connection used the address the guard saw, not a second lookup.
    names = Names({"api.partner.test": ["127.0.0.1"]})
    async with CallApi(resolver=names, allow_private=True) as api:
        result = await api.call(get(f"http://api.partner.test:{server.port}/echo"))

    assert result.outcome == "success", result.error
    assert result.data["body"]["headers"]["host"] == f"api.partner.test:{server.port}"
    assert names.asked == ["api.partner.test"]


async def test_every_checked_address_is_tried_in_order(server: Loopback) -> None:
    names = Names({"two.partner.test": ["::1", "127.0.0.1"]})  # the server listens on IPv4
    async with CallApi(resolver=names, allow_private=True) as api:
        result = await api.call(get(f"http://two.partner.test:{server.port}/json"))

    assert result.outcome == "success", result.error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"])
async def test_loopback_is_called_when_the_server_allows_private_urls(
    server: Loopback, host: str
) -> None:
    async with CallApi(allow_private=True) as api:
        result = await api.call(get(server.url("/json", host)))

    assert result.outcome == "success", result.error
    assert len(server.requests) == 1


async def test_the_account_setting_overrides_the_server_default_per_call(
    server: Loopback,
) -> None:
    async with CallApi(allow_private=False) as strict, CallApi(allow_private=True) as lax:
        allowed = await strict.call(get(server.url("/json")), allow_private=True)
        refused = await lax.call(get(server.url("/json")), allow_private=False)
        default = await strict.call(get(server.url("/json")))

    assert allowed.outcome == "success"
    assert refused.error == "refused: 127.0.0.1 is a loopback address"
    assert default.error == "refused: 127.0.0.1 is a loopback address"
    assert len(server.requests) == 1
