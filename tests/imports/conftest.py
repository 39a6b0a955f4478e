from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tidings.channels.standins.sftp import SftpStandin


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpStandin]:
    """A loopback SFTP server over a fresh folder with an empty `in/`."""
    (tmp_path / "in").mkdir()
    with SftpStandin(tmp_path, username="crm", password="pa55-word") as server:
        yield server
