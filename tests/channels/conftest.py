from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.channels.loopback import Loopback


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[Loopback]:
    loopback = Loopback()
    loopback.start()
    yield loopback
    loopback.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
