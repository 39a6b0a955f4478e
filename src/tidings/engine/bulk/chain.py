"""The set-based paths' one door (`run`): which of them moves the next head of work, in
the order the general path would take it, or none, and the general path does. The paths
are imported by their own modules, not through the package, whose `__init__` imports this.
"""

from __future__ import annotations

from datetime import datetime

import tidings.engine.bulk.audience as audience
import tidings.engine.bulk.event_entries as event_entries
import tidings.engine.bulk.events as events
import tidings.engine.bulk.reports as reports
import tidings.engine.bulk.timers as timers
from tidings.domain.durations import to_micros
from tidings.engine.bulk.context import Context
from tidings.store.inbox import due_inbox


def run(ctx: Context, now: datetime, limit: int) -> int:
    """Move up to `limit` people or stimuli set-based; answer how many (0: the general
    path takes what is due). Event entries left in flight by the previous round go on
    while they can; anything else first settles them, so it reads the store as they
    left it. Then due timers (they come before the inbox's stimuli due after them), then
    the head of the inbox."""
    moved = event_entries.take_more(ctx, now, limit) if ctx.in_flight else 0
    if not moved:
        settle(ctx)
        moved = timers.wake_timers(ctx, now, limit) or take_head(ctx, now, limit)
    return moved


def settle(ctx: Context) -> None:
    """Wait for the entry parts in flight (event_entries.py); a failure is raised."""
    if ctx.in_flight:
        try:
            ctx.in_flight.settle()
        finally:
            ctx.forget_ids()  # SQLite: the writer numbered those rows itself


def take_head(ctx: Context, now: datetime, limit: int) -> int:
    """Consume the longest head of the due inbox (up to `limit` stimuli) that can go
    set-based: audience entries, event entries, plain awaited events, or delivery
    reports nobody waits for; answer how many were consumed (0: the general path takes
    the inbox)."""
    with ctx.db.read() as conn:
        first = due_inbox(conn, to_micros(now), 1, ctx.scope.owned())
    if not first:
        return 0
    item = first[0]
    if audience.plain_entry(item):
        return audience.take_entries(ctx, now, limit, item)
    if event_entries.enters(ctx, item):
        return event_entries.take(ctx, now, limit)
    if item.kind == "event" and item.payload.get("store"):
        return reports.store_reports(ctx, now, limit)
    if item.kind == "event":
        return events.match_events(ctx, now, limit, item)
    return 0
