"""A throwaway PostgreSQL cluster from the local binaries: the tests' session cluster and
`tidings bench journeys-http --database postgresql`.

`initdb` and `postgres` refuse to run as root, so as root the cluster runs as the
`postgres` user in a folder that user owns. The tests' cluster trades durability for
speed (fsync off: it lives for one test session); the bench's is `durable` (fsync and
synchronous commits on, as a production server runs, and as the SQLite figures are
measured with `synchronous=FULL`).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_bin() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yield a SQLAlchemy URL of an empty database; stop it afterwards."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL binaries not found (initdb): run `make test`, which installs "
            "Debian's postgresql package when they are missing"
        )
    base = Path(tempfile.mkdtemp(prefix="tidings-pg-"))
    base.chmod(0o755)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run(  # noqa: S603 - the local PostgreSQL binaries, our arguments
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(  # noqa: S603 - the local PostgreSQL binaries, our arguments
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE tidings")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tidings"
    finally:
        subprocess.run(  # noqa: S603 - the local PostgreSQL binaries, our arguments
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Another empty database in the same cluster; returns its URL."""
    import psycopg

    server, _, _old = url.rpartition("/")
    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"
