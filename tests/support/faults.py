"""Fault injection for the failure-isolation tests: element handlers that raise.

An element whose id is in the fault set raises `InjectedFault` from its handler: an id
`boom` raises whenever a person reaches it or any stimulus reaches them there; `boom-timer`
only when a timer comes, `boom-event` only when an event comes. A flow holding an element
`boom-compile` does not compile. Only a flow whose document names such an element is hit,
so every other flow in the same rounds runs as it would.

In-process: `install(monkeypatch)`. In other processes (`tidings worker`, `tidings serve`):
`site_dir(tmp)` writes a `sitecustomize.py` that installs the faults at start when the
environment names them (`TIDINGS_TEST_FAULTS=1`); put the folder on PYTHONPATH.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from tidings.domain.journey.elements import base

REPO = Path(__file__).resolve().parents[2]
MOMENTS = {"enter": "boom", "on_timer": "boom-timer", "on_event": "boom-event"}
COMPILE = "boom-compile"


class InjectedFault(RuntimeError):
    """Raised by a handler or compiler the test made faulty."""


def _faulty(method: Any, moment: str) -> Any:
    @functools.wraps(method)
    def wrapper(self: base.Handler, *args: Any, **kwargs: Any) -> Any:
        if self.id == "boom" or self.id == MOMENTS.get(moment):
            raise InjectedFault(f"injected fault in {moment} at {self.id}")
        return method(self, *args, **kwargs)

    return wrapper


def _handler_classes() -> set[type[base.Handler]]:
    import tidings.domain.journey.compiler  # noqa: F401  (registers every builder)
    from tidings.domain.journey import elements  # noqa: F401

    found: set[type[base.Handler]] = set()
    todo = list(base.Handler.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def _patches() -> list[tuple[Any, str, Any]]:
    patches: list[tuple[Any, str, Any]] = []
    for cls in _handler_classes():
        for moment in ("enter", "on_timer", "on_event", "on_result"):
            if moment in cls.__dict__:
                patches.append((cls, moment, _faulty(cls.__dict__[moment], moment)))
    from tidings.engine import programs

    original = programs.compile_program

    def compile_program(doc: Any, **kwargs: Any) -> Any:
        if any(element.id == COMPILE for element in doc.elements):
            raise InjectedFault("injected fault while compiling")
        return original(doc, **kwargs)

    patches.append((programs, "compile_program", compile_program))
    return patches


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, value in _patches():
        monkeypatch.setattr(owner, name, value)


def install_for_process() -> None:
    """For a whole process (sitecustomize): no undo needed."""
    for owner, name, value in _patches():
        setattr(owner, name, value)


def site_dir(folder: Path) -> Path:
    """A folder whose sitecustomize.py installs the faults in every Python process
    started with it on PYTHONPATH and TIDINGS_TEST_FAULTS=1 in its environment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if os.environ.get('TIDINGS_TEST_FAULTS') == '1':\n"
        f"    sys.path.insert(0, {str(REPO)!r})\n"
        "    from tests.support.faults import install_for_process\n"
        "    install_for_process()\n"
    )
    return folder
