"""The rows of an imported file checked in a process of their own (sftp_imports.py).

Checking a row (its cells, phone, email and attributes: `domain.imports.check_row`) is
pure Python, about 8 µs a row; done in the engine's process it held the interpreter's
lock for 8 s of a 1,000,000-row file, while the writer, which needs the lock between
its statements, waited for it. A child process checks instead, on the machine's other
core: the file goes to it whole, and it answers the file's rows in slices of `records`
(`split_csv`, `check_slice`), one slice while the writer writes the one before.

The child is started the first time a large file comes, with the interpreter of this
process, and stays for the next file. It ends when this process does (its input closes)
or when it fails: then the rest of the file is checked in this process (nothing is lost
or checked twice), and the next large file starts another child. A small file is checked
in this process: a child's start (about 0.3 s) would cost more than it saves.

Requests and answers are pickles framed by their length on the child's standard input
and output: the child is our own code, and it unpickles only what this process wrote.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

from tidings.domain.imports import Columns, Row, check_slice, split_csv

log = logging.getLogger(__name__)
INLINE_BYTES = 1 << 20  # a file up to this size is checked in this process
_LENGTH = struct.Struct("<Q")


class CheckFailed(Exception):
    """The child could not check the file (it failed or ended)."""


def checked_rows(data: bytes, columns: Columns, records: int) -> Iterator[tuple[int, list[Row]]]:
    """The rows of `data` (a CSV file with its header) in slices of `records` records:
    (how many rows the slice has, its valid rows), in the file's order."""
    done = 0
    if len(data) > INLINE_BYTES:
        try:
            for answer in _CHECKER.check(data, columns, records):
                done += 1
                yield answer
            return
        except CheckFailed:
            log.warning("the rows' checking process failed: checking the rest here", exc_info=True)
    _, delimiter, slices = split_csv(data, records)
    for text in itertools.islice(slices, done, None):
        yield check_slice(text, delimiter, columns)


class _Checker:
    """The parent's handle on the child (one file at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    def check(self, data: bytes, columns: Columns, records: int) -> Iterator[tuple[int, list[Row]]]:
        with self._lock:
            child = self._started()
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                _send(child.stdin, (columns, records))
                _write(child.stdin.fileno(), data)  # as it is: no pickled copy
                while True:
                    answer = _receive(child.stdout)
                    if answer is None:
                        return
                    if isinstance(answer, str):
                        raise CheckFailed(answer)
                    yield answer
            except GeneratorExit:
                self._stop()  # the rest of its answers would come to the next file
                raise
            except CheckFailed:
                self._stop()
                raise
            except Exception as exc:  # it ended, or what it wrote does not read
                self._stop()
                raise CheckFailed(f"the checking process failed ({type(exc).__name__})") from exc

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self._child = subprocess.Popen(
            [sys.executable, "-c", "from tidings.engine.import_checks import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()

    def close(self) -> None:
        """End the child: its input closes, so it stops after the file at hand."""
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


_CHECKER = _Checker()
atexit.register(_CHECKER.close)


def _send(stream: IO[bytes], value: Any) -> None:
    _write(stream.fileno(), pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _write(fd: int, body: bytes) -> None:
    """A frame: `body`'s length, then `body`."""
    for chunk in (_LENGTH.pack(len(body)), body):
        view = memoryview(chunk)
        while view:  # a write to a pipe may take part of it (a signal, a tracer)
            view = view[os.write(fd, view) :]


def _receive(stream: IO[bytes]) -> Any:
    return pickle.loads(_frame(stream.fileno()))  # noqa: S301 - written by our own parent


def _frame(fd: int) -> bytearray:
    (size,) = _LENGTH.unpack(_read(fd, _LENGTH.size))
    return _read(fd, size)


def _read(fd: int, size: int) -> bytearray:
    """Exactly `size` bytes, read into one buffer (a file's bytes are not copied again)."""
    out = bytearray(size)
    view = memoryview(out)
    done = 0
    while done < size:
        got = os.readv(fd, [view[done : done + (1 << 20)]])
        if not got:
            raise EOFError("the stream ended")
        done += got
    return out


def serve() -> None:
    """The child: for each file it reads, its slices' rows, then None; a failure is
    answered as its message, and the child goes on to the next file."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            columns, records = _receive(source)
            data = _frame(source.fileno())
        except EOFError:
            return  # the parent is gone or done with us
        try:
            _, delimiter, slices = split_csv(data, records)
            del data
            for text in slices:
                _send(sink, check_slice(text, delimiter, columns))
            _send(sink, None)
        except Exception as exc:  # the parent records the file's import as failed
            _send(sink, f"the rows could not be checked ({type(exc).__name__})")
