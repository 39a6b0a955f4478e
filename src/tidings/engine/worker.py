"""One engine among many on PostgreSQL: `tidings worker`, and `tidings serve`'s own engine
there.

A worker holds a share of the partitions (`LeaseScope`), is woken by NOTIFY when any
process adds input (`store.wakeups.Listener`) and otherwise polls for due timers, and is
driven by the `Runner` on the real clock. Stopping it stops the runner first (no batch in
flight), then gives its partitions back, so the others take them at once.

`serve_metrics` answers the worker's own figures (`engine/figures.py`) as Prometheus text
on a port of its own (`tidings worker --metrics-port`).
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

from tidings.engine.figures import EngineCollector, EngineFigures
from tidings.engine.leases import LeaseScope
from tidings.engine.runner import Runner
from tidings.store.database import Database
from tidings.store.wakeups import Listener

log = logging.getLogger("tidings.engine")


class Worker:
    def __init__(self, *, db: Database, runner: Runner, scope: LeaseScope) -> None:
        if runner.clock.virtual:
            raise ValueError("a worker runs on the real clock")
        if runner.engine.scope is not scope:
            raise ValueError("the runner's engine must work in the worker's scope")
        self.db = db
        self.runner = runner
        self.scope = scope
        self.listener = Listener(url=db.url, wake=runner.wake)
        self._metrics: Any = None

    @property
    def name(self) -> str:
        return self.scope.name

    @property
    def figures(self) -> EngineFigures:
        return self.runner.engine.figures

    def serve_metrics(self, host: str, port: int) -> int:
        """Answer GET /metrics (Prometheus text) on host:port from a thread; answers the
        port (an ephemeral one when `port` is 0)."""
        registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=registry)  # process_*: CPU, memory, open files
        registry.register(EngineCollector(self.figures))
        self._metrics, _thread = start_http_server(port, addr=host, registry=registry)
        return int(self._metrics.server_port)

    def start(self) -> None:
        """Take a first share of the partitions, listen, and start the engine thread."""
        self.scope.start()
        self.listener.start()
        self.runner.start()
        log.info("worker %s started", self.name)

    def stop(self) -> None:
        """Stop the engine, then give the partitions back (the database stays open)."""
        self.runner.stop()
        self.listener.stop()
        self.scope.stop()
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()
            self._metrics = None
        log.info("worker %s stopped; its partitions are free", self.name)
