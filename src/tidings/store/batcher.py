"""Merge concurrent requests of one kind into one write function.

The committer already shares one transaction among concurrent writes; a Batcher goes a
step further for hot endpoints: while one write is in flight, new jobs wait in a list,
and the next write handles all of them with set-based SQL (one person look-up, one
`executemany`). A job's answer arrives only after the commit that stored it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Connection

from tidings.store.database import Database

J = TypeVar("J")
R = TypeVar("R")


class Batcher(Generic[J, R]):
    def __init__(
        self,
        *,
        db: Database,
        process: Callable[[Connection, Sequence[J]], Sequence[R]],
        max_jobs: int = 256,
    ) -> None:
        self._db = db
        self._process = process
        self._max_jobs = max_jobs
        self._pending: list[tuple[J, asyncio.Future[R]]] = []
        self._flushing = False

    async def submit(self, job: J) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_jobs]
                del self._pending[: self._max_jobs]
                jobs = [job for job, _ in batch]
                try:
                    results = await self._db.write_async(
                        lambda conn, jobs=jobs: self._process(conn, jobs)  # type: ignore[misc]
                    )
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flushing = False
