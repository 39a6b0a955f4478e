"""A loopback SFTP server (asyncssh) over a folder: the sftp entry's stand-in, for tests and
`tidings bench sftp-import`.

`SftpStandin(root, username, password)` serves `root` (chrooted: the client's `/` is
`root`) on 127.0.0.1, port 0 (a free one, `s.port`), on an event loop of its own thread:
`with SftpStandin(...) as s:`. Password authentication (`s.password`, random unless
given), and public-key authentication for the keys in `s.authorized_keys` (public keys
as `ssh-ed25519 AAAA...`; none unless given); the host key is generated at start
(`s.host_key`: its public key in the same form, what a connection pins).
`s.logins` counts the successful logins.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from tidings.channels.ssh import asyncssh


class _Server(asyncssh.SSHServer):
    def __init__(self, standin: SftpStandin) -> None:
        self.standin = standin

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.standin.username and password == self.standin.password

    def public_key_auth_supported(self) -> bool:
        return bool(self.standin.authorized_keys)

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        offered = key.export_public_key().decode().split()[:2]
        known = [k.split()[:2] for k in self.standin.authorized_keys]
        return username == self.standin.username and offered in known

    def auth_completed(self) -> None:
        self.standin.logins += 1


class SftpStandin:
    def __init__(
        self,
        root: Path,
        *,
        username: str = "tidings",
        password: str | None = None,
        authorized_keys: list[str] | None = None,
    ):
        self.root = root
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.authorized_keys = list(authorized_keys or ())
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = self.key.export_public_key().decode().strip()
        self.port = 0
        self.logins = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> SftpStandin:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=30)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> None:
        root = str(self.root)
        self._server = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.key],
            server_factory=lambda: _Server(self),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root.encode()),
            allow_scp=False,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


def other_host_key() -> str:
    """A public key no stand-in has (to pin the wrong key)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    return str(key.export_public_key().decode().strip())
