"""`LeaseScope`: the partitions one worker among many holds on PostgreSQL.

A thread ticks every `renew_seconds`: heartbeat, forget dead workers, renew this worker's
leases, take free or expired partitions up to the fair share and give back the ones above
it. The engine reads only `owned()` partitions; `fence(conn)`, first in every engine
write, re-reads their lease rows (share-locked on PostgreSQL) and raises `LeaseLost` when
any moved to another owner or epoch or expired, so that batch rolls back whole.

A partition the scope stops offering (given back, or found lost) stays fenced until the
runner's next `checkpoint()`: a batch read before it left may still be on its way to the
writer, and must be checked against it. Only then is a given-back partition released in
the database for others to take. The holder of partition 0 leads (housekeeping).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import datetime

from sqlalchemy import Connection

from tidings.clock import Clock
from tidings.domain.durations import to_micros
from tidings.engine.figures import EngineFigures
from tidings.engine.scope import LeaseLost
from tidings.store import leases as store
from tidings.store.database import Database
from tidings.store.outage import Outage, reason, unavailable

log = logging.getLogger("tidings.engine")
MICROS = 1_000_000


def worker_name() -> str:
    """Unique per process: host, pid and a random suffix (a restarted worker is new)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class LeaseScope:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        partitions: int,
        lease_seconds: float = 15.0,
        renew_seconds: float = 3.0,
        name: str | None = None,
        figures: EngineFigures | None = None,
    ) -> None:
        if not 0 < renew_seconds < lease_seconds:
            raise ValueError("leases must be renewed more often than they last")
        self.db = db
        self.clock = clock
        self.partitions = partitions
        self.lease = int(lease_seconds * MICROS)
        self.renew_seconds = renew_seconds
        self.name = name or worker_name()
        self.figures = figures or EngineFigures()  # lease changes for /metrics
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}  # offered by owned(): partition -> epoch
        self._leaving: dict[int, tuple[int, bool]] = {}  # fenced still: epoch, give back?
        self._to_release: set[int] = set()  # left at a checkpoint; release in the database
        self._owned: frozenset[int] = frozenset()
        self._tick_lock = threading.Lock()
        self._kick = threading.Event()
        self._outage = Outage(log, "lease renewal")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- Scope --------------------------------------------------------------------------

    def owned(self) -> frozenset[int] | None:
        return self._owned

    def leads(self) -> bool:
        return 0 in self._owned

    def fence(self, conn: Connection) -> None:
        with self._lock:
            expected = dict(self._held)
            expected.update((p, epoch) for p, (epoch, _) in self._leaving.items())
        store.mark_transaction(conn, self.name, lease=self.lease)
        lost = store.check_epochs(conn, self.name, expected, to_micros(self.clock.now()))
        if not lost:
            return
        with self._lock:
            for p in lost:
                if p in self._held:
                    self._leaving[p] = (self._held.pop(p), False)
                elif p in self._leaving:
                    self._leaving[p] = (self._leaving[p][0], False)
            self._owned = frozenset(self._held)
        self.figures.lease_changes(lost=len(lost))
        self.figures.held(len(self._owned))
        self._kick.set()
        raise LeaseLost(f"{self.name} lost partitions {_ranges(lost)}")

    def checkpoint(self) -> None:
        with self._lock:
            if not self._leaving:
                return
            for p, (_epoch, give_back) in self._leaving.items():
                if give_back:
                    self._to_release.add(p)
            self._leaving.clear()
        if self._to_release:
            self._kick.set()

    # --- the lease loop -----------------------------------------------------------------

    def held(self) -> dict[int, int]:
        """The partitions offered to the engine now, {partition: epoch}."""
        with self._lock:
            return dict(self._held)

    def tick(self, now: datetime) -> None:
        """Heartbeat, renew, release what left at the last checkpoint, rebalance."""
        at = to_micros(now)
        with self._tick_lock:
            with self._lock:
                releasing = set(self._to_release)
                leaving = {p for p, (_e, give_back) in self._leaving.items() if give_back}
            with self.db.engine.begin() as conn:
                store.mark_transaction(conn, self.name, lease=self.lease)
                store.ensure_partitions(conn, self.partitions)
                store.heartbeat(conn, self.name, at)
                dead = store.remove_dead(conn, at, lease=self.lease)
                if dead:
                    log.info("workers %s stopped renewing; their leases are free", dead)
                live = store.live_workers(conn, at, lease=self.lease)
                share = store.fair_share(self.partitions, live)
                # Renewing locks every row this worker holds, in partition order, before
                # any is released, so ticks and fences never wait on each other in a cycle.
                mine = store.renew(conn, self.name, at, lease=self.lease)
                released = set(store.release(conn, self.name, releasing))
                mine = {p: e for p, e in mine.items() if p not in released}
                keeping = {p: e for p, e in mine.items() if p not in leaving}
                acquired = store.acquire(
                    conn, self.name, at, want=share - len(keeping), lease=self.lease
                )
            self.figures.lease_changes(released=len(released))
            self._apply(mine, acquired, releasing, leaving, share)

    def _apply(
        self,
        mine: dict[int, int],
        acquired: dict[int, int],
        released: set[int],
        leaving: set[int],
        share: int,
    ) -> None:
        lost = 0
        with self._lock:
            self._to_release -= released
            for p, epoch in list(self._held.items()):
                if mine.get(p) != epoch:  # taken over (or expired and taken): fenced off
                    self._leaving[p] = (self._held.pop(p), False)
                    lost += 1
            for p, (epoch, give_back) in list(self._leaving.items()):
                if give_back and mine.get(p) != epoch:
                    self._leaving[p] = (epoch, False)
            for p, epoch in mine.items():
                known = p in self._held or p in self._leaving or p in self._to_release
                if not known and p not in leaving:
                    self._held[p] = epoch  # ours in the database: e.g. lost only by expiry
            self._held.update(acquired)
            surplus = len(self._held) - share
            if surplus > 0:
                for p in sorted(self._held, reverse=True)[:surplus]:
                    self._leaving[p] = (self._held.pop(p), True)
            changed = frozenset(self._held) != self._owned
            self._owned = frozenset(self._held)
        self.figures.lease_changes(acquired=len(acquired), lost=lost)
        self.figures.held(len(self._owned))
        if changed:
            log.info(
                "%s holds %d of %d partitions (share %d)",
                self.name,
                len(self._owned),
                self.partitions,
                share,
            )

    def start(self) -> None:
        """Take a first share at once, then keep ticking in a thread."""
        self.tick(self.clock.now())
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tidings-leases", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking and give every partition back (call after the runner stopped, so
        no batch is in flight): the others take them at once instead of after expiry."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            with self.db.engine.begin() as conn:
                released = store.release(conn, self.name)
                store.unregister(conn, self.name)
            self.figures.lease_changes(released=len(released))
        except Exception as exc:
            gone = unavailable(exc)  # a database that is away needs no traceback
            log.warning(
                "could not give the partitions back%s; they move when the leases expire",
                f" ({reason(exc)})" if gone else "",
                exc_info=not gone,
            )
        with self._lock:
            self._held.clear()
            self._leaving.clear()
            self._to_release.clear()
            self._owned = frozenset()
        self.figures.held(0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(self.renew_seconds)
            self._kick.clear()
            if self._stop.is_set():
                return
            try:
                self.tick(self.clock.now())
            except Exception as exc:
                if self._outage.failed(exc) is None:
                    log.exception("lease renewal failed; retrying")
            else:
                self._outage.passed()


def _ranges(partitions: set[int]) -> str:
    """`3-5, 9` for {3, 4, 5, 9}."""
    out: list[str] = []
    for p in sorted(partitions):
        if out and out[-1].split("-")[-1] == str(p - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{p}"
        else:
            out.append(str(p))
    return ", ".join(out)
