"""Which events any live flow can react to, so ingest queues only those for the engine.

An event matters to the engine when a live version starts on it, waits for it, counts it
as a goal, or (for `message.*`) sends messages. Everything else is history only: stored
in `events`, never an engine stimulus. The set is rebuilt from the live versions'
documents by the engine at every batch and by the API right after a launch or an
in-place edit, before the answer, so no event after a launch is missed.

Only for one process that holds both the API and the engine (SQLite, embedded): with
several processes on PostgreSQL every event is queued (`Interest.everything`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from tidings.domain.lifecycle import Status
from tidings.store.live_versions import documents_of

# Scheduled versions count: they become active in the engine's own time, and an event
# between that moment and the next refresh must not be skipped.
LIVE = (Status.scheduled.value, Status.active.value, Status.paused.value, Status.finishing.value)


def names_of(document: dict[str, Any]) -> set[str]:
    """Event names a document can react to; `message.*` stands for message events."""
    names: set[str] = set()
    entry = document.get("entry") or {}
    if entry.get("type") == "event" and entry.get("event"):
        names.add(entry["event"])
    if entry.get("type") == "inbound":
        names.add("message.received")
    goal = (document.get("settings") or {}).get("goal") or {}
    if goal.get("event"):
        names.add(goal["event"])
    for element in document.get("elements") or []:
        kind = element.get("type", "")
        if kind == "wait_for_event":
            if element.get("event"):
                names.add(element["event"])
            if element.get("element"):
                names.add("message.*")
        elif kind.startswith("send_") or kind in ("failover", "voice_call"):
            names.add("message.*")
    return names


class Interest:
    def __init__(self, *, everything: bool = False) -> None:
        self.everything = everything
        self._wanted: frozenset[tuple[int, str]] = frozenset()
        self._lock = threading.Lock()

    def wants(self, account_id: int, name: str) -> bool:
        if self.everything:
            return True
        wanted = self._wanted
        if (account_id, name) in wanted:
            return True
        return name.startswith("message.") and (account_id, "message.*") in wanted

    def update(self, pairs: Iterable[tuple[int, str]]) -> None:
        with self._lock:
            self._wanted = frozenset(pairs)

    def refresh(self, conn: Connection) -> None:
        rows = documents_of(conn, LIVE)
        self.update((account, name) for account, doc in rows for name in names_of(doc or {}))
