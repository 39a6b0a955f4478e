"""Process-wide settings of the Python runtime for Tidings' long-running processes
(`tune_runtime`, called once a process has started: serve, the engine's process, worker).

The garbage collector: the cyclic collector runs a young collection every 700 net
container allocations by default, and its full collections walk every object alive. A
batch of 5,000 people allocates hundreds of thousands of short-lived dicts and tuples, so
the collector ran thousands of times a second: measured in-process (`/tmp`-style harness,
30,000 people launched into a send, CPU per person, two runs each) 75 and 77 µs with the
default thresholds, 58 and 60 µs with these; loading 5,000 profiles cost 7.6 µs a person
with the collector and 5.0 µs without it. The objects alive after start (imported
modules, compiled code) are frozen out of collections, and young collections come every
50,000 allocations. Tidings makes few reference cycles, so memory does not grow from it
(the parked workload's RSS is flat in the number of people).

The switch interval, in the engine's processes (its child process of `serve`, `tidings
worker`): a thread that let go of the interpreter's lock (the writer, while SQLite runs a
statement) waits for it afterwards until the thread holding it lets go, which a computing
thread (the engine's, planning the next part) does after `sys.getswitchinterval()`: 5 ms
by default, once for every statement the writer runs. Measured alone (a thread inserting
200,000 rows in statements of 2,000, another thread computing): 0.12 s with nobody else,
0.94 s at 5 ms, 0.31 s at 0.5 ms, 0.21 s at 0.2 ms. `tidings bench events --events
600000`: 21,162 and 22,206 events/s at 5 ms, 23,732 and 24,035 at 0.5 ms, 24,330 and
25,345 at 0.2 ms. The API's process keeps CPython's 5 ms: at 0.2 ms there, `tidings
bench journeys-http --rate 1000` answered with a p99 of 47-62 ms against 41 ms, and events
gained nothing (25,512 and 25,419 events/s with the API at 5 ms and the engine at 0.2 ms).
1 ms in the engine halved `journeys-http`'s p50 when its clients overload it, but lost
0.5-5% of events at 1M in four alternated pairs: the docs/decisions record, 2026-11-26.
"""

from __future__ import annotations

import gc
import sys

YOUNG = 50_000  # net allocations between young collections (CPython's default: 700)
ENGINE_SWITCH_INTERVAL = 0.0002  # seconds (CPython's default: 0.005)


def tune_runtime(*, engine: bool) -> None:
    """Call once a process has started, before its main loop; `engine`: the process runs
    an engine and no API (the switch interval above)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, 20, 100)
    if engine:
        sys.setswitchinterval(ENGINE_SWITCH_INTERVAL)
