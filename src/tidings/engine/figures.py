"""The engine's own counters for `/metrics`: rounds and their duration, provider errors,
lease changes, and the partitions a leasing engine holds.

They are a flat array of doubles, counted under a lock (a few increments a round, none a
person). In-process it is a plain list. When `tidings serve` runs the engine in a child
process (SQLite, real clock: `engine/process.py`), the parent allocates the array in
shared memory and hands it to the child at spawn, as it hands over the wake pipe: the
child counts, the API process reads the same memory at scrape time. That is simpler than
forwarding figures over the pipe (a protocol, a reader thread, figures as stale as the
forwarding interval) and than prometheus-client's multiprocess mode (an environment
variable read when prometheus-client is imported, in every process, that changes every
metric of the process, and a directory of files per pid to clean up).

`EngineCollector` turns the array into Prometheus metric families; the API's `/metrics`
and each worker's metrics port register it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, MutableSequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

# Upper bounds of the round-duration histogram (seconds); the last bucket is +Inf.
ROUND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The provider errors counted today, (provider, kind): a fixed set keeps the array flat
# and the label cardinality low.
PROVIDER_ERRORS = (
    ("call_api", "http"),  # the endpoint answered an error status
    ("call_api", "transport"),  # no usable answer: refused address, connection, timeout
    ("call_api", "exception"),  # a whole batch of calls raised (tried again later)
    ("sandbox", "failed"),  # a message the sandbox reported failed
    # a connection's provider: refused a message for good, could not take it now (429,
    # 5xx, timeout; tried again later), or raised (a bug; tried again later)
    *((p, k) for p in ("infobip", "twilio", "smtp") for k in ("failed", "retry", "exception")),
)
LEASE_CHANGES = ("acquired", "released", "lost")

_ROUND_SUM = 0
_BUCKETS = 1  # len(ROUND_BUCKETS) + 1 slots, not cumulative; their sum is the rounds
_ERRORS = _BUCKETS + len(ROUND_BUCKETS) + 1
_LEASES = _ERRORS + len(PROVIDER_ERRORS)
_HELD = _LEASES + len(LEASE_CHANGES)  # -1 while the engine holds no leases (embedded)
SIZE = _HELD + 1


def shared_array() -> Any:
    """Zeroed shared memory for a child process's figures (spawn context)."""
    import multiprocessing

    values = multiprocessing.get_context("spawn").RawArray("d", SIZE)
    values[_HELD] = -1.0
    return values


class EngineFigures:
    """Counts into `values` (a list of SIZE doubles, or `shared_array()`)."""

    def __init__(self, values: MutableSequence[float] | None = None) -> None:
        if values is None:
            values = [0.0] * SIZE
            values[_HELD] = -1.0
        if len(values) != SIZE:
            raise ValueError(f"engine figures need {SIZE} values, got {len(values)}")
        self.values = values
        self._lock = threading.Lock()

    def round(self, seconds: float) -> None:
        """One round of `Runner.work_until_idle` that did some work, and its duration."""
        slot = _BUCKETS + bisect.bisect_left(ROUND_BUCKETS, seconds)
        with self._lock:
            v = self.values
            v[_ROUND_SUM] += seconds
            v[slot] += 1

    def provider_errors(self, provider: str, kind: str, count: int = 1) -> None:
        if count <= 0:
            return
        slot = _ERRORS + PROVIDER_ERRORS.index((provider, kind))
        with self._lock:
            self.values[slot] += count

    def lease_changes(self, *, acquired: int = 0, released: int = 0, lost: int = 0) -> None:
        with self._lock:
            for offset, count in enumerate((acquired, released, lost)):
                self.values[_LEASES + offset] += count

    def held(self, partitions: int) -> None:
        """How many partitions a leasing engine holds now."""
        self.values[_HELD] = float(partitions)

    def snapshot(self) -> list[float]:
        with self._lock:
            return list(self.values)


class EngineCollector(Collector):
    """Prometheus metric families read from `EngineFigures` at scrape time."""

    def __init__(self, figures: EngineFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Any]:
        v = self.figures.snapshot()
        buckets: list[tuple[str, float]] = []
        running = 0.0
        for bound, count in zip(
            [*map(str, ROUND_BUCKETS), "+Inf"], v[_BUCKETS:_ERRORS], strict=True
        ):
            running += count
            buckets.append((bound, running))
        # The rounds are the histogram's count: one source, so the two always agree (a
        # child process counts while the API process reads, without a shared lock).
        yield CounterMetricFamily(
            "tidings_engine_rounds",
            "Engine rounds that did work (one pass over every kind of due work).",
            value=running,
        )
        yield HistogramMetricFamily(
            "tidings_engine_round_seconds",
            "How long an engine round that did work took.",
            buckets=buckets,
            sum_value=v[_ROUND_SUM],
        )
        errors = CounterMetricFamily(
            "tidings_provider_errors",
            "Provider calls that failed, by provider and kind.",
            labels=["provider", "kind"],
        )
        for n, (provider, kind) in enumerate(PROVIDER_ERRORS):
            errors.add_metric([provider, kind], v[_ERRORS + n])
        yield errors
        leases = CounterMetricFamily(
            "tidings_lease_changes",
            "Partition leases this engine acquired, released or lost.",
            labels=["change"],
        )
        for n, change in enumerate(LEASE_CHANGES):
            leases.add_metric([change], v[_LEASES + n])
        yield leases
        if v[_HELD] >= 0:
            yield GaugeMetricFamily(
                "tidings_partitions_held",
                "Partitions this engine holds a lease on.",
                value=v[_HELD],
            )
