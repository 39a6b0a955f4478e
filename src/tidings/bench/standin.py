"""`python -m tidings.bench.standin infobip|smtp PORT [KEY]`: a provider's loopback
stand-in in a process of its own, for `tidings bench dispatch` (the stand-in's work must
not share the server's cores' interpreter). Prints "ready" once it listens."""

from __future__ import annotations

import asyncio
import sys

from tidings.runtime import tune_runtime


async def serve(kind: str, port: int, key: str) -> None:
    standin: object
    if kind == "infobip":
        from tidings.channels.standins.infobip import InfobipStandin

        standin = InfobipStandin(
            api_key=key, port=port, report_batch=1000, report_parallel=4, keep=False
        )
    elif kind == "smtp":
        from tidings.channels.standins.smtp import SmtpStandin

        standin = SmtpStandin(port=port, keep=False)
    else:
        raise SystemExit(f"unknown stand-in {kind!r}")
    # with CPython's default collector thresholds, collections that walked the messages
    # it kept took 60% of its CPU (13 µs a message of 22, 200,000 in one process); it
    # keeps only their ids now, but each request still makes thousands of records
    tune_runtime(engine=False)
    async with standin:
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    key = sys.argv[3] if len(sys.argv) > 3 else "bench-key"
    asyncio.run(serve(kind, port, key))


if __name__ == "__main__":
    main()
