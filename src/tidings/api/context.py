"""What the API needs from the composition root, handed over as one object."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from prometheus_client import Counter

if TYPE_CHECKING:
    from tidings.services.ingest import IngestJob
    from tidings.services.test_runs import SystemFactory

from tidings.clock import Clock, VirtualClock
from tidings.domain.durations import to_micros
from tidings.domain.values import ValueType
from tidings.engine.figures import EngineFigures
from tidings.engine.interest import QuietReports
from tidings.store.accounts import KeyOwner, hash_key, resolve_key, touch_key
from tidings.store.batcher import Batcher
from tidings.store.database import Database
from tidings.store.definitions import event_types

KEY_CACHE_SECONDS = 30.0
# Event definitions are read on every ingest request; a short cache keeps that off the hot
# path. Changes made through this process are seen at once (`forget_event_types`).
DEFINITIONS_CACHE_SECONDS = 1.0


@dataclass
class AppContext:
    db: Database
    clock: Clock
    max_body_bytes: int = 1_048_576
    allow_private_urls: bool = False
    drain: Callable[[datetime], Awaitable[None]] | None = None
    """Does all work due by an instant (virtual clock): `/clock/advance` awaits it. On the
    real clock the engine's own thread does the work as it comes due."""
    wake: Callable[[], None] | None = None
    """Tells the engine that new input is waiting (real clock), so it starts at once."""
    partitions: int = 256
    wake_reports: Callable[[], None] | None = None
    """Tells the report worker that a report was asked for (services/report_worker.py)."""
    public_url: str = "http://127.0.0.1:8000"
    """TIDINGS_PUBLIC_URL: the base of webhook, tracking and unsubscribe URLs."""
    _tracking_key: bytes | None = None
    _report_link_key: bytes | None = None
    simulation_system: SystemFactory | None = None
    """Builds the throwaway system of a test run (`bootstrap.simulation_system`); None:
    test runs are not offered."""

    def tracking_key(self) -> bytes:
        """The install's key that signs tracking and unsubscribe links (read once)."""
        if self._tracking_key is None:
            from tidings.store import secrets

            self._tracking_key = self.db.write(lambda conn: secrets.secret(conn, secrets.TRACKING))
        return self._tracking_key

    def report_link_key(self) -> bytes:
        """The install's key that signs emailed reports' download links (read once)."""
        if self._report_link_key is None:
            from tidings.store import secrets

            self._report_link_key = self.db.write(
                lambda conn: secrets.secret(conn, secrets.REPORT_LINKS)
            )
        return self._report_link_key

    wants_event: Callable[[int, str], bool] | None = None
    """Whether the engine needs an event as a stimulus (None: always)."""
    refresh_interest: Callable[[Any], None] | None = None
    """Called inside the write of a launch or edit (with its connection), so every later
    write of the single writer, ingest included, sees the new interest."""
    engine_figures: EngineFigures | None = None
    """The engine's counters for /metrics (its child process's, on SQLite's real clock)."""
    quiet_reports: QuietReports = field(default_factory=QuietReports)
    """Which delivery reports the webhook keeps straight in events (services/deliveries)."""
    lease_seconds: float | None = None
    """How long a partition lease lasts when engines lease partitions (PostgreSQL, real
    clock); None: one embedded engine holds them all."""
    events_ingested: Counter = field(
        default_factory=lambda: Counter(
            "tidings_events_ingested", "Events stored by POST /events.", registry=None
        )
    )

    def write_and_refresh(self, fn: Callable[[Any], Any]) -> Any:
        refresh = self.refresh_interest

        def write(conn: Any) -> Any:
            result = fn(conn)
            if refresh is not None:
                refresh(conn)
            return result

        return self.db.write(write)

    event_batcher: Batcher[IngestJob, tuple[int, Any]] = field(init=False)
    _keys: dict[str, tuple[KeyOwner, float]] = field(default_factory=dict)
    _event_types: dict[int, tuple[dict[str, dict[str, ValueType]], float]] = field(
        default_factory=dict
    )

    def event_types(self, account_id: int) -> dict[str, dict[str, ValueType]]:
        hit = self._event_types.get(account_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        with self.db.read() as conn:
            types = event_types(conn, account_id)
        self._event_types[account_id] = (types, time.monotonic() + DEFINITIONS_CACHE_SECONDS)
        return types

    def forget_key(self, key_id: int) -> None:
        """A revoked key: drop it from the cache, so its next call gets 401 at once."""
        for digest, (owner, _) in list(self._keys.items()):
            if owner.key_id == key_id:
                self._keys.pop(digest, None)

    def forget_event_types(self, account_id: int) -> None:
        self._event_types.pop(account_id, None)

    def __post_init__(self) -> None:
        from tidings.services.ingest import store_events

        partitions = self.partitions
        self.event_batcher = Batcher(
            db=self.db,
            process=lambda conn, jobs: store_events(
                conn,
                jobs,
                partitions=partitions,
                wants=self.wants_event,
                ingested=self.events_ingested.inc,
            ),
        )

    async def advance_clock(self, target: datetime) -> None:
        """Move the virtual clock to `target`, then wait for all work due by then."""
        assert isinstance(self.clock, VirtualClock)
        if self.drain is None:
            self.clock.advance_to(target)
        else:
            await self.drain(target)  # moves the clock from one due instant to the next

    def now_micros(self) -> int:
        return to_micros(self.clock.now())

    def authenticate(self, key: str) -> KeyOwner | None:
        """Resolve a presented key, caching hits briefly so a hot endpoint pays no query."""
        digest = hash_key(key)
        hit = self._keys.get(digest)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        with self.db.read() as conn:
            owner = resolve_key(conn, key)
        if owner is not None:
            self._keys[digest] = (owner, time.monotonic() + KEY_CACHE_SECONDS)
            now, key_id = self.now_micros(), owner.key_id
            # "last used", to within the cache's period: queued, the call does not wait
            self.db.submit(lambda conn: touch_key(conn, key_id, now))
        return owner


async def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
