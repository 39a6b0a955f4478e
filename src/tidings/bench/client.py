"""A minimal HTTP/1.1 keep-alive client for load generation.

The bench client shares the 2 cores with the server it measures, so it must cost as little
as possible: prebuilt request bytes, one connection per worker, Content-Length framing.
(httpx costs ~10x more CPU per request, which would mostly measure the client.)
"""

from __future__ import annotations

import asyncio


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self._reader.readexactly(length) if length else b""
        return status, body


def post(path: str, body: bytes, key: str, host: str, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def latency_figures(ms: list[float], prefix: str = "") -> dict[str, float]:
    """p50, p99 and max of latencies in milliseconds, as the workloads print them
    (`{prefix}P50Ms`, ...; camelCase after a prefix)."""
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    keys = [prefix + k[0].upper() + k[1:] if prefix else k for k in ("p50Ms", "p99Ms", "maxMs")]
    values = (ordered[len(ordered) // 2], p99, ordered[-1])
    return {k: round(v, 2) for k, v in zip(keys, values, strict=True)}
