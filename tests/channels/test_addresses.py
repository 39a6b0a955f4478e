"""The address policy in isolation: spellings, kinds and the refusal wording."""

from __future__ import annotations

import ipaddress

import pytest

from tidings.channels.addresses import forbidden_kind, ip_literal, refusal, system_resolver


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("::1", "::1"),
        ("fe80::1%25eth0", "fe80::1%eth0"),
        ("example.com", None),
        ("cafe.be", None),
        ("deadbeef", None),
    ],
)
def test_ip_literal_reads_hosts_as_the_socket_layer_would(host: str, address: str | None) -> None:
    literal = ip_literal(host)
    assert (None if literal is None else str(literal)) == address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("0.0.0.0", "an unspecified"),
        ("::", "an unspecified"),
        ("127.0.0.53", "a loopback"),
        ("::1", "a loopback"),
        ("::ffff:127.0.0.1", "a loopback"),
        ("169.254.169.254", "a link-local"),
        ("fe80::1", "a link-local"),
        ("239.1.1.1", "a multicast"),
        ("ff02::1", "a multicast"),
        ("10.0.0.5", "a private"),
        ("172.16.0.1", "a private"),
        ("192.168.1.1", "a private"),
        ("fc00::1", "a private"),
        ("192.0.2.1", "a private"),  # documentation ranges count as private in ipaddress
        ("100.64.0.1", "a non-public"),
        ("::127.0.0.1", "a reserved"),
        ("2002:7f00:1::", "a loopback"),  # 6to4 carrying 127.0.0.1
        ("2002:808:808::", None),  # 6to4 carrying 8.8.8.8
        ("64:ff9b::a00:5", "a private"),  # NAT64 carrying 10.0.0.5
    ],
)
def test_forbidden_kind(address: str, kind: str | None) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) == kind


def test_refusal_names_the_host_and_the_first_bad_address() -> None:
    assert refusal("api.example.com", ["93.184.215.14"]) is None
    assert refusal("api.example.com", ["93.184.215.14", "10.9.8.7"]) == (
        "refused: api.example.com resolves to 10.9.8.7, a private address"
    )
    assert refusal("10.0.0.5", ["10.0.0.5"]) == "refused: 10.0.0.5 is a private address"
    assert refusal("localhost", ["93.184.215.14"]) == "refused: localhost is a loopback address"
    assert refusal("odd.example", ["not-an-ip"]) == (
        "refused: odd.example resolves to 'not-an-ip', which is not an IP address"
    )


@pytest.mark.anyio
async def test_the_system_resolver_answers_for_localhost(anyio_backend: str) -> None:
    assert "127.0.0.1" in await system_resolver("localhost")
