"""The SFTP client of the sftp entry (`asyncssh`): fetch the CSV files a path names.

The server's host key is pinned (`hostKey`, in OpenSSH public-key or known_hosts form):
a server that shows another key is refused. The host is resolved here and refused on a
private, loopback or link-local address unless private URLs are allowed (as for
`call_api`), and the connection goes to the address that was checked. Failures come back
as `SftpFailed` with a message fit for the import table: never the password or key.
"""

from __future__ import annotations

import asyncio
import fnmatch
import posixpath
import stat
from dataclasses import dataclass
from typing import cast

from tidings.channels.addresses import refusal, system_resolver
from tidings.channels.ssh import asyncssh

CONNECT_SECONDS = 30.0
FETCH_SECONDS = 600.0
MAX_FILES = 100
GLOB = frozenset("*?[")


class SftpFailed(Exception):
    """A poll that could not fetch: the message is safe to show and store."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    username: str
    password: str | None
    private_key: str | None
    host_key: str
    allow_private: bool


@dataclass(frozen=True)
class Fetched:
    name: str  # the path on the server
    data: bytes


def parse_host_key(text: str) -> asyncssh.SSHKey:
    """The public key of `text`: `ssh-ed25519 AAAA... [comment]`, or a known_hosts line
    (`host[,host] ssh-ed25519 AAAA...`). ValueError when there is none."""
    words = text.strip().split()
    for i in range(len(words) - 1):
        try:
            return asyncssh.import_public_key(f"{words[i]} {words[i + 1]}")
        except Exception:  # noqa: S112 - any text a client sends: not a key at i
            continue
    raise ValueError("not an SSH public key (e.g. ssh-ed25519 AAAA... as ssh-keyscan prints)")


def check_private_key(text: str) -> None:
    """ValueError when `text` is not a private key without a passphrase."""
    try:
        asyncssh.import_private_key(text)
    except Exception:
        raise ValueError("not a private key in OpenSSH or PEM form (without passphrase)") from None


async def fetch(target: Target, path: str, skip: frozenset[str] = frozenset()) -> list[Fetched]:
    """The CSV files `path` names (a folder: its `*.csv` files; a glob: the files it
    matches; else the file itself), in name order, but those named in `skip`."""
    try:
        return await asyncio.wait_for(_fetch(target, path, skip), FETCH_SECONDS)
    except SftpFailed:
        raise
    except asyncssh.PermissionDenied:
        raise SftpFailed("authentication failed (wrong username, password or key)") from None
    except asyncssh.HostKeyNotVerifiable:
        raise SftpFailed("the server's host key does not match the pinned hostKey") from None
    except asyncssh.SFTPNoSuchFile:
        raise SftpFailed(f"no such file or folder: {path}") from None
    except asyncssh.SFTPPermissionDenied:
        raise SftpFailed(f"permission denied reading {path}") from None
    except asyncssh.SFTPError as exc:
        raise SftpFailed(f"SFTP error: {exc.reason}") from None
    except asyncssh.DisconnectError as exc:
        raise SftpFailed(f"the server closed the connection: {exc.reason}") from None
    except TimeoutError:
        raise SftpFailed(f"timed out talking to {target.host}:{target.port}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SftpFailed(f"cannot reach {target.host}:{target.port}: {reason}") from None


async def _address(target: Target) -> str:
    try:
        addresses = await system_resolver(target.host)
    except (OSError, UnicodeError, ValueError):
        raise SftpFailed(f"cannot resolve {target.host}") from None
    if not addresses:
        raise SftpFailed(f"cannot resolve {target.host}")
    if not target.allow_private:
        refused = refusal(target.host, addresses)
        if refused is not None:
            raise SftpFailed(f"{refused}; allow private URLs in the account settings")
    return addresses[0]


async def _fetch(target: Target, path: str, skip: frozenset[str]) -> list[Fetched]:
    try:
        pinned = parse_host_key(target.host_key)
    except ValueError:
        raise SftpFailed("the pinned hostKey is not an SSH public key") from None
    address = await _address(target)
    keys = [asyncssh.import_private_key(target.private_key)] if target.private_key else []
    async with (
        asyncssh.connect(
            address,
            target.port,
            username=target.username,
            password=target.password,
            client_keys=keys,
            known_hosts=([pinned], [], []),
            agent_path=None,
            config=None,
            preferred_auth="publickey" if keys else "password,keyboard-interactive",
            connect_timeout=CONNECT_SECONDS,
            login_timeout=CONNECT_SECONDS,
        ) as conn,
        conn.start_sftp_client() as sftp,
    ):
        names = await _names(sftp, path)
        out: list[Fetched] = []
        for name in names[:MAX_FILES]:
            if name in skip:
                continue
            async with sftp.open(name, "rb") as handle:
                data = await handle.read()
            out.append(Fetched(name, cast(bytes, data)))
        return out


async def _names(sftp: asyncssh.SFTPClient, path: str) -> list[str]:
    if GLOB & set(path):
        folder, pattern = posixpath.split(path)
        if GLOB & set(folder):
            raise SftpFailed("only the file name of the path may hold * ? or [")
        entries = await sftp.readdir(folder or ".")
        return sorted(
            posixpath.join(folder, _text(e.filename))
            for e in entries
            if _is_file(e.attrs) and fnmatch.fnmatchcase(_text(e.filename), pattern)
        )
    attrs = await sftp.stat(path)
    if attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY or (
        attrs.permissions is not None and stat.S_ISDIR(attrs.permissions)
    ):
        entries = await sftp.readdir(path)
        return sorted(
            posixpath.join(path, _text(e.filename))
            for e in entries
            if _is_file(e.attrs) and _text(e.filename).lower().endswith(".csv")
        )
    return [path]


def _text(name: str | bytes) -> str:
    return name if isinstance(name, str) else name.decode("utf-8", "replace")


def _is_file(attrs: asyncssh.SFTPAttrs) -> bool:
    if attrs.type == asyncssh.FILEXFER_TYPE_REGULAR:
        return True
    return attrs.permissions is not None and stat.S_ISREG(attrs.permissions)
