"""An asyncio loop in a thread, for the providers' async stand-ins in sync tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class Background:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def started(standin: Any) -> Iterator[Any]:
    """Run an async stand-in (`async with`) on a background loop for the block."""
    background = Background()
    background.run(standin.__aenter__())
    try:
        yield background
    finally:
        background.run(standin.__aexit__(None, None, None))
        background.close()
