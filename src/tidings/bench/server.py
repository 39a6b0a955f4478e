"""Start a real `tidings serve` in a child process for a benchmark, and read its peak RSS."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from tidings.bench.scratch import scratch

BENCH_KEY = "tdk_bench_key_for_a_throwaway_server"


@dataclass
class Server:
    host: str
    port: int
    key: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path | None = None  # what the server wrote to stdout and stderr

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of resident memory (VmHWM), summed over the server
        and its child processes (the engine runs in one on SQLite)."""
        pids = [self.process.pid]
        with contextlib.suppress(psutil.Error):
            pids += [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return round(total / 1024, 1) if total else -1.0


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range (32768 and up on Linux):
    a server restarted on the port it had (a crash test) must not find it taken by
    the source port of some outgoing connection meanwhile."""
    for _ in range(200):
        port = secrets.randbelow(32000 - 20000) + 20000
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    database_url: str | None = None,
    clock: str = "real",
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    """`tidings serve` in a process of its own, on `port` (a free one by default: a
    restarted server keeps its public URL by being given the same)."""
    folder = scratch("tidings-bench-")
    url = database_url or f"sqlite:///{folder / 'bench.db'}"
    port = port or free_port()
    env = {
        **os.environ,
        "TIDINGS_PUBLIC_URL": f"http://127.0.0.1:{port}",  # where stand-ins post back
        **(env or {}),
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_API_KEY": BENCH_KEY,
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "tidings", "serve", "--port", str(port), "--clock", clock],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the server did not start: " + (folder / "server.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield Server("127.0.0.1", port, BENCH_KEY, url, process, folder / "server.log")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()
