"""Every `tidings bench` workload runs from a fresh clone with one command and prints one
JSON line with its figure, peak RSS and the store's raw limit (tiny sizes here: this
checks that they run and report, not how fast; the figures are in the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORKLOADS = [
    (["launch", "--people", "300"], "peoplePerSecond"),
    (["events", "--events", "300"], "eventsPerSecond"),
    (["timers", "--people", "300"], "wakesPerSecond"),
    (["waits", "--people", "300"], "matchesPerSecond"),
    (["journeys-http", "--seconds", "2", "--clients", "4", "--rate", "200"], "journeysPerSecond"),
]


def bench(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tidings", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.mark.parametrize(("args", "figure"), WORKLOADS, ids=[w[0][0] for w in WORKLOADS])
def test_a_workload_prints_its_figure_rss_and_raw_limit(args: list[str], figure: str) -> None:
    found = bench(*args)
    assert found["workload"] == args[0]
    assert found[figure] > 0
    assert found["rawPerSecond"] > 0
    ratio = found[figure] / found["rawPerSecond"]
    assert found["ratioToRaw"] == pytest.approx(ratio, rel=0.01, abs=0.001)  # 3 decimals
    assert found["serverPeakRssMb"] > 10


def test_journeys_http_on_postgresql_prints_its_timeline() -> None:
    # 300 events at 50/s: six seconds of posting, so at least one full 5-s bucket
    args = "--database postgresql --events 300 --clients 4 --rate 50"
    found = bench("journeys-http", *args.split())
    assert found["database"] == "postgresql"
    assert found["eventsSent"] == found["journeysCompleted"] == 300
    assert found["bucketSeconds"] == 5
    assert len(found["timeline"]) >= 1
    assert all(rate > 0 for rate in found["timeline"])
    assert found["medianBucket"] > 0
    assert 0 < found["minBucketToMedian"] <= 1
    assert found["databaseCpuMsPerJourney"] > 0
    assert found["serverPeakRssMb"] > 10


def test_events_on_postgresql_with_two_workers_completes_every_journey() -> None:
    """Two `tidings worker` processes share the partitions; every event's person enters,
    passes the segment and gets exactly one SMS, and both workers' people got theirs."""
    found = bench("events", "--database", "postgresql", "--workers", "2", "--events", "300")
    assert found["database"] == "postgresql"
    assert found["workers"] == 2
    assert found["journeysCompleted"] == found["messages"] == found["peopleMessaged"] == 300
    assert found["partitionsByWorker"] == [128, 128]
    assert sum(found["messagesByWorker"]) == 300
    assert min(found["messagesByWorker"]) > 0, "each worker's partitions got messages"
    assert found["eventsPerSecond"] > 0
    assert found["ratioToRaw"] == pytest.approx(
        found["eventsPerSecond"] / found["rawPerSecond"], rel=0.01, abs=0.001
    )
    assert len(found["cpuMsPerEvent"]["workers"]) == 2


def test_parked_prints_the_store_size_against_its_participations_alone() -> None:
    found = bench("parked", "--people", "300")
    assert found["storeBytes"] > found["rawParticipationBytesPerPerson"] * 300 > 0
    assert found["ratioToRaw"] > 1  # a profile, a trace and a visit besides
    assert found["serverPeakRssMb"] > 10


def test_a_run_leaves_no_store_behind_unless_asked_to(tmp_path: Path) -> None:
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    bench("launch", "--people", "50", env={"TMPDIR": str(gone)})
    assert list(gone.iterdir()) == []
    bench("launch", "--people", "50", env={"TMPDIR": str(kept), "TIDINGS_BENCH_KEEP": "1"})
    stores = list(kept.glob("tidings-bench-launch-*/launch.db"))
    assert len(stores) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_report_prints_its_seconds_and_peak_rss_at_each_size(fmt: str) -> None:
    found = bench("report", "--rows", "300", "--runs", "1", "--format", fmt)
    assert (found["workload"], found["format"], found["rows"]) == ("report", fmt, 300)
    assert found["median_seconds"] > 0
    assert found["target_seconds"] == {"csv": 30, "xlsx": 90}[fmt]
    assert found["peak_rss_mb"]["300"] > 10
    assert found["sizes"][0]["rows"] == 300


def test_mep_reads_a_month_from_the_roll_up_and_streams_its_report() -> None:
    result = bench("mep", "--people", "3000", "--calls", "5")
    assert result["workload"] == "mep"
    assert result["reportRows"] == 3000  # GET /mep's total was checked against the people
    assert result["p99Ms"] > 0
    assert result["storeP99Ms"] > 0


def test_performance_reads_the_answer_of_a_filled_flow() -> None:
    result = bench("performance", "--participations", "600", "--people", "200", "--calls", "3")
    assert result["workload"] == "performance"
    # the answer counts what the store was filled with: people once, every SMS delivered
    assert (result["profilesInFlow"], result["smsDelivered"]) == (200, 600)
    assert result["seriesPoints"] == 90
    assert result["allVersions"]["p99Ms"] > 0
    assert result["oneVersion"]["p99Ms"] > 0


@pytest.mark.parametrize("provider", ["infobip", "smtp"])
def test_dispatch_sends_every_message_to_the_stand_in_and_times_it(provider: str) -> None:
    found = bench("dispatch", "--provider", provider, "--messages", "300", "--no-compare")
    assert found["workload"] == "dispatch"
    assert found["failed"] == 0
    assert found["messagesPerSecond"] > 0
    assert found["serverPeakRssMb"] > 10
    if provider == "infobip":  # every delivery report came back, after the sends
        assert found["reportedSeconds"] >= found["acceptedSeconds"] > 0
        assert found["reportsPerSecond"] > 0
