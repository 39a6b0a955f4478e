"""The engine's figures as Prometheus reads them (engine/figures.py)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.support.metrics import Samples, parse, value
from tidings.engine.figures import EngineCollector, EngineFigures, shared_array


def exposed(figures: EngineFigures) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(figures))
    return parse(generate_latest(registry).decode())


def test_round_durations_fall_in_cumulative_buckets() -> None:
    figures = EngineFigures()
    for seconds in (0.0004, 0.001, 0.003, 20.0):
        figures.round(seconds)
    samples = exposed(figures)
    bucket = "tidings_engine_round_seconds_bucket"
    assert value(samples, bucket, le="0.001") == 2, "a bound holds the values equal to it"
    assert value(samples, bucket, le="0.005") == 3
    assert value(samples, bucket, le="10.0") == 3
    assert value(samples, bucket, le="+Inf") == 4
    assert value(samples, "tidings_engine_round_seconds_count") == 4
    assert value(samples, "tidings_engine_round_seconds_sum") == pytest.approx(20.0044)
    assert value(samples, "tidings_engine_rounds_total") == 4


def test_errors_and_lease_changes_by_label() -> None:
    figures = EngineFigures(shared_array())
    figures.provider_errors("call_api", "http", 2)
    figures.provider_errors("sandbox", "failed", 0)
    figures.lease_changes(acquired=8, lost=1)
    figures.lease_changes(released=3)
    samples = exposed(figures)
    errors = "tidings_provider_errors_total"
    assert value(samples, errors, provider="call_api", kind="http") == 2
    assert value(samples, errors, provider="sandbox", kind="failed") == 0
    changes = "tidings_lease_changes_total"
    assert [value(samples, changes, change=c) for c in ("acquired", "released", "lost")] == [
        8,
        3,
        1,
    ]
    assert ("tidings_partitions_held", frozenset()) not in samples, "no leases held yet"
    figures.held(5)
    assert value(exposed(figures), "tidings_partitions_held") == 5
    with pytest.raises(ValueError, match="not in tuple"):
        figures.provider_errors("carrier-pigeon", "lost")
