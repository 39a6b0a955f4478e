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
from tidings.store import versions
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


def steps_on(document: dict[str, Any]) -> set[str]:
    """Event names a document enters on or counts as its goal: a report of one of these
    needs a step even for a person who waits nowhere (Programs.quiet is the engine's)."""
    names: set[str] = set()
    entry = document.get("entry") or {}
    if entry.get("type") == "event" and entry.get("event"):
        names.add(entry["event"])
    if entry.get("type") == "inbound":
        names.add("message.received")
    goal = (document.get("settings") or {}).get("goal") or {}
    if goal.get("event"):
        names.add(goal["event"])
    return names


class QuietReports:
    """The events some live version enters on or counts as its goal (`loud`), as the
    caller's transaction sees the versions (re-read when `versions.stamp` moves): for a
    process without the engine's programs (the API's delivery webhook). Every live
    status counts, so it is never quieter than the engine's own `Programs.quiet`."""

    def __init__(self) -> None:
        self._seen: tuple[tuple[object, ...], frozenset[tuple[int, str]]] | None = None

    def loud(self, conn: Connection) -> frozenset[tuple[int, str]]:
        """(account, event name) pairs some live version enters on or has as its goal."""
        stamp = versions.stamp(conn, LIVE)
        seen = self._seen
        if seen is None or seen[0] != stamp:
            rows = documents_of(conn, LIVE)
            loud = frozenset((a, n) for a, doc in rows for n in steps_on(doc or {}))
            seen = self._seen = (stamp, loud)
        return seen[1]
