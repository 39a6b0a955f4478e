"""The set-based paths' one door for the inbox: which of them takes the head of the due
inbox (audience entries, event entries, plain awaited events, delivery reports nobody
waits for), or none, and the general path does. They work from the narrow `Bulk`
context (engine/context.py), never from the `Engine` itself.
"""

from __future__ import annotations

from datetime import datetime

from tidings.domain.durations import to_micros
from tidings.engine import entries, uniform
from tidings.engine.context import Bulk
from tidings.store.inbox import due_inbox


def take_head(engine: Bulk, now: datetime, limit: int) -> int:
    """Consume the longest head of the due inbox (up to `limit` stimuli) that can go
    set-based: audience entries, plain events, or delivery reports nobody waits for;
    answer how many were consumed (0: the general path takes the inbox)."""
    with engine.db.read() as conn:
        first = due_inbox(conn, to_micros(now), 1, engine.scope.owned())
    if not first:
        return 0
    item = first[0]
    if uniform.plain_entry(item):
        return uniform.take_entries(engine, now, limit, item)
    if entries.enters(engine, item):
        return entries.take(engine, now, limit)
    if item.kind == "event" and item.payload.get("store"):
        return uniform.store_reports(engine, now, limit)
    if item.kind == "event":
        return uniform.match_events(engine, now, limit, item)
    return 0
