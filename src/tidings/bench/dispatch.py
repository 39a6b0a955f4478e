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


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM outbox WHERE connection_id IS NOT NULL GROUP BY status"
        ).fetchall()
    return {str(status): int(n) for status, n in rows}


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
            started = time.perf_counter()
            sandbox_launch.call(server.port, "POST", f"/flows/{flow['id']}/launch")
            accepted_at = reported_at = None
            while reported_at is None:
                time.sleep(0.25)
                counts = _counts(path)
                taken = sum(counts.get(s, 0) for s in ("sent", "delivered", "failed"))
                if accepted_at is None and taken >= messages:
                    accepted_at = time.perf_counter() - started
                if counts.get("delivered", 0) + counts.get("failed", 0) >= messages:
                    reported_at = time.perf_counter() - started
                if time.perf_counter() - started > 3600:
                    raise RuntimeError(f"gave up after an hour: {counts}")
            rss = server.peak_rss_mb()
            failed = _counts(path).get("failed", 0)
    finally:
        standin.terminate()
        standin.wait(timeout=20)
    assert accepted_at is not None
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
