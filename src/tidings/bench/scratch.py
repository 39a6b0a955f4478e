"""Scratch folders of the benchmark workloads (stores of up to 10 million people):
removed when the process that made them exits, so a run leaves nothing behind.
`TIDINGS_BENCH_KEEP=1` keeps them, to look at a store after a run."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_made: list[Path] = []


def scratch(prefix: str) -> Path:
    """A new folder under the system's temporary directory, named `prefix...`."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    _made.append(folder)
    return folder


@atexit.register
def _remove() -> None:
    if os.environ.get("TIDINGS_BENCH_KEEP"):
        return
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
