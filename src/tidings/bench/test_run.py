"""`tidings bench test-run`: the web app's Test run (`POST /flows/{id}/test-runs`) at its
bounds, against a real `tidings serve --clock virtual`.

A draft (an SMS, a 30-day wait, a branch on an attribute, an SMS or an email) is tested
`runs` times with `people` synthetic people over `days` days; meanwhile another thread
asks `GET /flows/{id}` again and again, to show that the server keeps answering while a
run works in its threadpool. Prints the seconds of each run (median) and the latency of
the other requests during the runs (median, max).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from tidings.bench.launch import call
from tidings.bench.server import running_server

DOCUMENT: dict[str, Any] = {
    "name": "bench test run",
    "entry": {"type": "api"},
    "elements": [
        {
            "id": "hello",
            "type": "send_sms",
            "from": "Shop",
            "text": "Hi {{ person.firstName }}",
            "next": "w",
        },
        {"id": "w", "type": "wait", "duration": "P30D", "next": "isvip"},
        {
            "id": "isvip",
            "type": "segment",
            "branches": [{"name": "vip", "when": "person.vip == true"}],
            "next": {"vip": "gift", "otherwise": "nudge"},
        },
        {"id": "gift", "type": "send_sms", "from": "Shop", "text": "A gift for you"},
        {
            "id": "nudge",
            "type": "send_email",
            "from": "shop@example.com",
            "subject": "Come back, {{ person.firstName }}",
            "html": "<p>We miss you</p>",
        },
    ],
}


def run(people: int, days: int, runs: int) -> dict[str, Any]:
    with running_server(clock="virtual") as server:
        port = server.port
        call(port, "POST", "/attributes", {"name": "vip", "type": "boolean"})
        flow = int(call(port, "POST", "/flows", DOCUMENT)["id"])
        seconds: list[float] = []
        others: list[float] = []
        busy = threading.Event()

        def ask() -> None:
            while busy.is_set():
                started = time.perf_counter()
                call(port, "GET", f"/flows/{flow}")
                others.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)

        sent = 0
        for _ in range(runs):
            busy.set()
            asker = threading.Thread(target=ask)
            asker.start()
            started = time.perf_counter()
            answer = call(
                port, "POST", f"/flows/{flow}/test-runs", {"people": people, "days": days}
            )
            seconds.append(time.perf_counter() - started)
            busy.clear()
            asker.join()
            sent = int(answer["flow"].get("messagesSent", 0))
    return {
        "workload": "test-run",
        "people": people,
        "days": days,
        "runs": runs,
        "messagesSent": sent,
        "secondsMedian": round(statistics.median(seconds), 2),
        "seconds": [round(s, 2) for s in seconds],
        "otherRequestsMs": {
            "count": len(others),
            "median": round(statistics.median(others), 1) if others else None,
            "max": round(max(others), 1) if others else None,
        },
    }
