"""Waking engines on new input across processes: PostgreSQL's LISTEN/NOTIFY.

A write that adds inbox rows calls `notify_work` in its transaction; PostgreSQL delivers
the notification at commit (identical ones of one transaction fold into one) to every
`Listener`, which wakes its engine at once instead of at its next idle poll. On SQLite
one process holds the only engine and wakes it directly: both are no-ops there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from tidings.store.dialect import dialect_of, listens, notify
from tidings.store.outage import reason

WORK_CHANNEL = "tidings_work"
log = logging.getLogger("tidings.engine")


def notify_work(conn: Connection) -> None:
    """Tell the listening engines that work was added (delivered at commit)."""
    notify(conn, WORK_CHANNEL)


class Listener:
    """A thread holding a LISTEN connection; calls `wake` on every notification (and once
    after each (re)connect, for whatever arrived while it was not listening)."""

    def __init__(self, *, url: str, wake: Callable[[], None], poll_seconds: float = 0.5):
        if not listens(dialect_of(url)):
            raise ValueError("LISTEN/NOTIFY needs PostgreSQL")
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._wake = wake
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        self._lost = False  # the connection failed, and not yet made again

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tidings-listen", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {WORK_CHANNEL}")
                    if self._lost:
                        log.warning("the LISTEN connection is back")
                        self._lost = False
                    self.listening.set()
                    self._wake()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=self._poll):
                            self._wake()
            except psycopg.Error as exc:
                self.listening.clear()
                if not self._lost:
                    log.warning("the LISTEN connection failed (%s); reconnecting", reason(exc))
                self._lost = True
                self._stop.wait(1.0)
        self.listening.clear()
