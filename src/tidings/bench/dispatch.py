"""`tidings bench dispatch --provider infobip|smtp --messages N`: a launch of N people whose
message goes out through a real provider connection, to a loopback stand-in in its own
process (Infobip's HTTP API, which posts its delivery reports back; or an aiosmtpd
server). Timed from the launch request until the provider has accepted every message
(`messagesPerSecond`) and, for Infobip, until every delivery report is ingested
(`reportsPerSecond`). With `--compare` the same launch to the sandbox runs first, for the
figure beside it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tidings.bench import launch as sandbox_launch
from tidings.bench.population import populate
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY, free_port, running_server

KEY = "bench-standin-key"
SMS = {
    "name": "Dispatch bench",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [
        {"id": "sms1", "type": "send_sms", "from": "Bench",
         "text": "Hi {{ person.firstName }}, this is for you"},
    ],
}  # fmt: skip
EMAIL = {
    "name": "Dispatch bench",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [
        {"id": "mail1", "type": "send_email", "from": "bench@example.com",
         "subject": "Hi {{ person.firstName }}",
         "text": "Hi {{ person.firstName }}, this is for you.",
         "html": "<p>Hi {{ person.firstName }}, <a href='https://example.com/'>this</a> is "
                 "for you.</p>"},
    ],
}  # fmt: skip


def _left(path: Path, statuses: str) -> int:
    """Messages through a connection still in one of `statuses` (polled once a second:
    the outbox's partial index answers pending and sending without a scan)."""
    with sqlite3.connect(path, timeout=30) as conn:
        found = conn.execute(
            "SELECT count(*) FROM outbox WHERE connection_id IS NOT NULL "
            f"AND status IN ({statuses})"
        ).fetchone()
    return int(found[0])


def _written(path: Path) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _instants(path: Path) -> tuple[int, int, int]:
    """When the last message was handed over and reported (micros, the server's real
    clock), and how many failed: read once at the end, so polling costs the run little."""
    with sqlite3.connect(path, timeout=30) as conn:
        # a sent row's next_attempt_at is when its answer was settled; a row whose report
        # came first (the provider reports at once) keeps its lease's end there, and its
        # report's instant bounds when the provider took it
        handed, reported, failed = conn.execute(
            "SELECT max(min(next_attempt_at, coalesce(done_at, next_attempt_at))), "
            "max(done_at), sum(status = 'failed') FROM outbox WHERE connection_id IS NOT NULL"
        ).fetchone()
    return int(handed), int(reported or handed), int(failed or 0)


def _standin(kind: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tidings.bench.standin", kind, str(port), KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        process.kill()
        raise RuntimeError(f"the {kind} stand-in did not start")
    return process


def run(*, provider: str, messages: int, compare: bool = True) -> dict[str, Any]:
    if provider not in ("infobip", "smtp"):
        raise ValueError("--provider is infobip or smtp")
    sandbox = sandbox_launch.run(people=messages) if compare and provider == "infobip" else None
    folder = scratch("tidings-bench-dispatch-")
    path = folder / "dispatch.db"
    url = f"sqlite:///{path}"
    email = provider == "smtp"
    setup = populate(url, people_count=messages, api_key=BENCH_KEY, phones=not email, emails=email)
    port = free_port()
    standin = _standin(provider, port)
    try:
        env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1"}
        with running_server(url, env=env) as server:
            if email:
                settings: dict[str, Any] = {
                    "host": "127.0.0.1", "port": port, "security": "none", "maxConnections": 8
                }  # fmt: skip
            else:
                settings = {"baseUrl": f"http://127.0.0.1:{port}", "apiKey": KEY}
            connection = {
                "name": "bench", "provider": provider, "settings": settings, "default": True
            }  # fmt: skip
            sandbox_launch.call(server.port, "POST", "/connections", connection)
            flow = sandbox_launch.call(server.port, "POST", "/flows", EMAIL if email else SMS)
            started = time.time()
            sandbox_launch.call(server.port, "POST", f"/flows/{flow['id']}/launch")
            accepted_at = None  # polled once a second: every send has left the outbox
            while accepted_at is None or _left(path, "'sent'"):
                time.sleep(1.0)
                # every message written and none left to send; the count of the outbox
                # (at 1,000,000 rows not free) only once the partial index says none is
                # left, and that asked again after it (a last part written in between)
                if (
                    accepted_at is None
                    and not _left(path, "'pending', 'sending'")
                    and _written(path) >= messages
                    and not _left(path, "'pending', 'sending'")
                ):
                    accepted_at = time.time() - started
                if time.time() - started > 3600:
                    raise RuntimeError("gave up after an hour")
            rss = server.peak_rss_mb()
            handed, reported, failed = _instants(path)
            reported_at = reported / 1_000_000 - started
            # the poll above only says when (to the second); the store says the instant
            accepted_at = min(accepted_at, handed / 1_000_000 - started, reported_at)
    finally:
        standin.terminate()
        standin.wait(timeout=20)
    out: dict[str, Any] = {
        "workload": "dispatch",
        "provider": provider,
        "messages": messages,
        "setupSeconds": round(setup, 1),
        "acceptedSeconds": round(accepted_at, 2),
        "messagesPerSecond": round(messages / accepted_at),
        "failed": failed,
        "serverPeakRssMb": rss,
    }
    if email:
        out["target"] = ">= 2,000 emails/s"
        out["meetsTarget"] = messages / accepted_at >= 2000
    else:
        out["reportedSeconds"] = round(reported_at, 2)
        out["reportsPerSecond"] = round(messages / reported_at)
        out["target"] = ">= 25,000 messages/s sent and reports/s ingested, RSS < 1.5 GB"
        out["meetsTarget"] = (
            messages / accepted_at >= 25_000 and messages / reported_at >= 25_000 and rss < 1536
        )
        if sandbox is not None:
            out["sandboxPeoplePerSecond"] = sandbox["peoplePerSecond"]
    return out
