"""`GET /metrics` at the server's root, beside `/api/v1`: Prometheus text, no key.

Each app has its own registry (no process-global state: tests build many apps in one
process). What it answers:

- `tidings_events_ingested_total`: events stored by `POST /events` (this process).
- The engine's figures (`engine/figures.py`): `tidings_engine_rounds_total`,
  `tidings_engine_round_seconds`, `tidings_provider_errors_total{provider,kind}`,
  `tidings_lease_changes_total{change}` and, leasing on PostgreSQL,
  `tidings_partitions_held`; read from the child's shared memory when the engine runs in
  a process of its own (SQLite, real clock).
- Read from the store at scrape time (`store/backlog.py`: bounded index reads, never
  the writer's lock): `tidings_due_backlog{source}` (inbox rows and timers due now),
  `tidings_due_lag_seconds` (how long the oldest due work has waited) and
  `tidings_outbox_backlog{channel}` (sends and API calls due now, not handed over yet).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from tidings.api.context import AppContext
from tidings.engine.figures import EngineCollector
from tidings.store.backlog import read_backlog

log = logging.getLogger("tidings.api")
MICROS = 1_000_000
# Channels the outbox backlog always answers (0 when none is due), so a dashboard's
# series exist before the first backlog; others appear when they have rows.
CHANNELS = ("sms", "email", "call_api")

router = APIRouter()


class StoreCollector(Collector):
    """The due backlog, its lag and the outbox backlog, read at scrape time."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Any]:
        now = self.ctx.now_micros()
        try:
            with self.ctx.db.read() as conn:
                backlog = read_backlog(conn, now)
        except Exception:
            # The engine's own figures are still worth answering; the log says why these
            # are missing from this scrape.
            log.exception("reading the backlog for /metrics failed")
            return
        due = GaugeMetricFamily(
            "tidings_due_backlog",
            "Work due now and not done yet: inbox rows (an audience bundle is one) and "
            "timers; counted up to 100,000 each.",
            labels=["source"],
        )
        due.add_metric(["inbox"], backlog.inbox)
        due.add_metric(["timers"], backlog.timers)
        yield due
        lag = 0.0 if backlog.oldest is None else max(now - backlog.oldest, 0) / MICROS
        yield GaugeMetricFamily(
            "tidings_due_lag_seconds",
            "How long the oldest due work (inbox, timer, send or API call) has waited.",
            value=lag,
        )
        outbox = GaugeMetricFamily(
            "tidings_outbox_backlog",
            "Sends and API calls due now and not handed to their provider yet, by channel; "
            "counted up to 10,000 in all.",
            labels=["channel"],
        )
        for channel in sorted({*CHANNELS, *backlog.outbox}):
            outbox.add_metric([channel], backlog.outbox.get(channel, 0))
        yield outbox


def registry(ctx: AppContext) -> CollectorRegistry:
    """The app's registry: ingest, the engine's figures (when this process can read them)
    and the store's gauges."""
    found = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=found)  # process_*: this process's CPU, memory, open files
    found.register(ctx.events_ingested)
    if ctx.engine_figures is not None:
        found.register(EngineCollector(ctx.engine_figures))
    found.register(StoreCollector(ctx))
    return found


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (OpenMetrics when the scraper asks for it); no key:
    scrapers are configured by address."""
    found: CollectorRegistry = request.app.state.metrics
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(found), headers={"Content-Type": content_type})
