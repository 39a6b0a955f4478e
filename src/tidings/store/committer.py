"""Group commit: one writer thread runs many callers' writes in one transaction.

Callers hand a function of a connection to `submit`; the writer drains every pending
function, runs each in its own savepoint (so one failing caller never loses the others'
writes), commits once, and only then resolves the callers' futures. Under load hundreds
of requests share one fsync; alone, a request pays for one commit. On SQLite this is also
the "one writer" rule: every write of the API goes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError

from tidings.store.outage import reason

T = TypeVar("T")
WriteFn = Callable[[Connection], Any]
log = logging.getLogger(__name__)

_STOP = object()
# A webhook's parse waits for this process's writer to let go of the SQLite lock, polling
# every HOLD_POLL, at most HOLD_WAIT: parsing 1,000 delivery reports holds the
# interpreter for milliseconds, and the writer (which needs it after every statement)
# held the lock 16 µs a report instead of 9, keeping the engine's writer waiting
# (`tidings bench dispatch --provider infobip`; the docs/decisions record, 2026-12-05).
HOLD_POLL = 0.001
HOLD_WAIT = 0.05


class Committer:
    def __init__(
        self, *, engine: Engine, max_batch: int = 1024, lock_path: Path | None = None
    ) -> None:
        self._engine = engine
        # SQLite with writers in several processes (API and engine): they take turns by
        # this file lock, so a waiting writer wakes the moment the other commits instead
        # of sleep-polling in SQLite's busy handler (which sleeps up to 100 ms at a time).
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tidings-committer", daemon=True)
        self._started = False
        self._holding = False
        self.commits = 0
        self.operations = 0

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._started = False

    def submit(self, fn: Callable[[Connection], T]) -> Future[T]:
        if not self._started:
            raise RuntimeError("the committer is not running")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future

    def _run(self) -> None:
        if self._lock_path is not None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        conn: Connection | None = None
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = [item]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    batch.append(more)
                conn = self._commit(conn, batch)
                if stop:
                    return
        finally:
            if conn is not None:
                conn.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _commit(self, conn: Connection | None, batch: list[Any]) -> Connection | None:
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._holding = True
        try:
            return self._commit_locked(conn, batch, results)
        finally:
            if self._lock_fd is not None:
                self._holding = False
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @property
    def holding(self) -> bool:
        """Whether this writer holds the lock writers of several processes take turns by
        (SQLite) now. Work that would compete with it for the interpreter, and that can
        wait a moment, waits while it does (`wait_while_holding`)."""
        return self._holding

    async def wait_while_holding(self, most: float = HOLD_WAIT) -> None:
        """Let this process's writer finish its turn with the lock first (at most `most`
        seconds): while it holds the lock, the other process's writer waits, so a burst
        of Python here (parsing a provider's callback of 1,000 delivery reports in the
        API, building a batch of 1,000 messages in the engine's sender) would only make
        that turn longer. Returns at once when nothing is held (PostgreSQL: never)."""
        waited = 0.0
        while self._holding and waited < most:
            await asyncio.sleep(HOLD_POLL)
            waited += HOLD_POLL

    def _commit_locked(
        self,
        conn: Connection | None,
        batch: list[Any],
        results: list[tuple[Future[Any], Any, BaseException | None]],
    ) -> Connection | None:
        live = [(fn, future) for fn, future in batch if future.set_running_or_notify_cancel()]
        for attempt in (1, 2):
            try:
                # The connection is made when first needed, so a database that is down
                # (at start, or after a failed reconnect) fails this batch, never the writer.
                conn = conn or self._engine.connect()
                transaction = self._write_all(conn, live, results)
            except Exception as exc:
                conn = self._reconnect(conn)
                if attempt == 2 or conn is None or not _disconnected(exc):
                    return self._fail(conn, batch, exc)
                # The database dropped the connection before the commit was asked for (a
                # restart, a failover, an idle timeout): nothing of the batch is stored,
                # so it runs once more on a fresh connection instead of failing everyone.
                log.warning("the writer's connection was lost; running its batch again")
                results.clear()
                continue
            try:  # lost here, whether it was stored cannot be told: not run again
                transaction.commit()
            except Exception as exc:
                return self._fail(self._reconnect(conn), batch, exc)
            break
        self.commits += 1
        self.operations += len(results)
        for future, value, error in results:
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)
        return conn

    @staticmethod
    def _write_all(
        conn: Connection,
        live: list[tuple[WriteFn, Future[Any]]],
        results: list[tuple[Future[Any], Any, BaseException | None]],
    ) -> RootTransaction:
        """Every caller's function in one transaction, each in its own savepoint when
        there are several; the transaction is left to commit (rolled back if this
        raises)."""
        transaction = conn.begin()
        try:
            for fn, future in live:
                savepoint = conn.begin_nested() if len(live) > 1 else None
                try:
                    value = fn(conn)
                except Exception as exc:  # a caller's failure is that caller's answer
                    if savepoint is None or _disconnected(exc):
                        raise
                    savepoint.rollback()
                    results.append((future, None, exc))
                else:
                    if savepoint is not None:
                        savepoint.commit()
                    results.append((future, value, None))
        except BaseException:
            with contextlib.suppress(Exception):
                transaction.rollback()
            raise
        return transaction

    def _reconnect(self, conn: Connection | None) -> Connection | None:
        """A fresh connection in place of `conn`, or None while the database refuses."""
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        try:
            return self._engine.connect()
        except Exception as exc:  # the batch's callers get the error; the next one tries
            log.warning("the writer cannot reach the database (%s)", reason(exc))
            return None

    @staticmethod
    def _fail(conn: Connection | None, batch: list[Any], exc: BaseException) -> Connection | None:
        """The transaction failed as a whole (or the one caller failed): nothing of it
        is stored, so every caller still waiting learns that."""
        log.debug("group commit failed", exc_info=exc)
        for _fn, future in batch:
            if not future.done():
                future.set_exception(exc)
        return conn


def _disconnected(exc: BaseException) -> bool:
    """Whether `exc` is the database connection's loss (SQLAlchemy tells it apart)."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
