"""The embedded engine in its own process (`tidings serve` on SQLite, real clock).

Python runs one thread at a time per process, so an engine thread next to the API shares
one core with it. `tidings serve` therefore starts the engine, the dispatcher and the API
caller as a child process on the same SQLite file (DESIGN.md: "one command ... may use
threads or child processes inside"). The parent wakes the child through a pipe when new
input arrives; the child dies with the parent (PR_SET_PDEATHSIG, and end of file on the
pipe), and an exclusive lock on `<database>.engine.lock` makes sure only one engine ever
works on a file, even while a killed predecessor is still going down.

`start` returns once the child's engine runs (it says so through a second pipe), so the
API does not answer before anything moves what it accepts: the child takes about a
second to start, and events posted in that second waited for it (the first second of
`tidings bench journeys-http` had a p99 of 700 ms, the later ones 20-170 ms).

On PostgreSQL (real clock) the child is a worker like `tidings worker` (its share of the
partitions by lease, woken by NOTIFY too), so the API's writer and the engine's are two
connections that work at the same time, each process on its own core. In one process
they were one writer in turn: a request's events waited behind the engine's batch and
the engine behind the requests (docs/decisions/2026-12-04-postgresql-sustained-load.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tidings.engine.figures import EngineFigures, shared_array
from tidings.engine.runner import Runner
from tidings.engine.worker import Worker

log = logging.getLogger("tidings.engine")
PR_SET_PDEATHSIG = 1
READY_SECONDS = 60.0  # a killed predecessor may hold the engine lock for a while


@dataclass
class ChildEngine:
    """What the child runs, as the composition root builds it (`bootstrap.compose` with
    `role="engine_child"`): a runner, and on PostgreSQL the worker that drives it."""

    runner: Runner
    worker: Worker | None = None

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()  # its partitions first, then the listener and the runner
        else:
            self.runner.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()  # the runner, then its partitions go back at once
        else:
            self.runner.stop()
        self.runner.db.close()


# Builds the child's engine in the child, called with `figures=` (counted into shared
# memory). A top-level function or a partial of one, so the spawned child unpickles it.
Compose = Callable[..., ChildEngine]


class EngineProcess:
    """The parent's handle: start, wake (cheap, coalesced, never blocks) and stop."""

    def __init__(self, compose: Compose, *, database_url: str, log_level: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._reader, self._writer = context.Pipe(duplex=False)
        os.set_blocking(self._writer.fileno(), False)
        self._ready, ready = context.Pipe(duplex=False)
        values = shared_array()
        self.figures = EngineFigures(values)
        """The child's engine figures, counted by the child in shared memory (figures.py)."""
        self._process = context.Process(
            target=_child_main,
            args=(compose, database_url, log_level, self._reader, ready, values),
            name="tidings-engine",
            daemon=True,
        )
        self._ready_end = ready
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, wait: float = READY_SECONDS) -> bool:
        """Start the child and wait up to `wait` seconds until its engine runs; False
        when it did not say so in time (the API serves anyway: the inbox keeps what
        arrives, and the engine takes it when it comes)."""
        self._process.start()
        self._reader.close()  # the child holds the reading end; its EOF is our death
        self._ready_end.close()
        try:
            if self._ready.poll(wait):
                self._ready.recv_bytes()
                return True
        except (EOFError, OSError):
            pass  # the child died before it was ready: its log says why
        finally:
            self._ready.close()
        log.warning("the engine process is not running after %.0f s", wait)
        return False

    def wake(self) -> None:
        with self._lock:
            try:
                os.write(self._writer.fileno(), b"w")
            except BlockingIOError:
                pass  # the pipe is full: a wake is pending anyway
            except OSError:
                log.warning("the engine process is gone")

    def stop(self, timeout: float = 30) -> None:
        with contextlib.suppress(OSError):
            self._writer.close()  # end of file: the child finishes its batch and leaves
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_main(  # pragma: no cover - child
    compose: Compose,
    database_url: str,
    log_level: str,
    wakes: Connection,
    ready: Connection,
    figures: Any,
) -> None:
    _die_with_parent()
    logging.basicConfig(
        level=log_level.upper(), format="%(levelname)s %(name)s[engine]: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from tidings.store.database import sqlite_file

    file = sqlite_file(database_url)
    lock = None
    if file is not None:
        lock_path = Path(f"{file}.engine.lock")
        lock = lock_path.open("a")
        fcntl.flock(lock, fcntl.LOCK_EX)  # a killed predecessor may still be going down
    child = compose(figures=EngineFigures(figures))  # shared with the API: what /metrics reads
    from tidings.runtime import tune_runtime

    tune_runtime(engine=True)
    child.start()
    with contextlib.suppress(OSError):
        ready.send_bytes(b"ready")
        ready.close()
    try:
        while True:
            try:
                got = os.read(wakes.fileno(), 4096)  # bytes from the parent's os.write
            except OSError:
                break
            if not got:
                break  # end of file: the parent stopped or died
            child.runner.wake()
    finally:
        child.stop()
        if lock is not None:
            lock.close()
