"""Delivery reports nobody waits for, kept set-based in the people's events."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.engine.bulk.context import Context
from tidings.store.changes import Changes, write_changes
from tidings.store.counts import count_reports
from tidings.store.events import EventRow, insert_events
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.participations import waiting_people


def store_reports(ctx: Context, now: datetime, limit: int) -> int:
    """Keep the head of the due inbox made of delivery reports (`message.delivered` ...)
    for people who wait in no flow, in their events, set-based: no flow enters or
    reaches a goal on them, and nobody waits, so that is all a step would do."""
    at = to_micros(now)
    owned = ctx.scope.owned()
    programs = ctx.programs
    head: list[InboxItem] = []
    seen: set[int] = set()
    with ctx.db.read() as conn:
        for item in due_inbox(conn, at, limit, owned):
            name = str(item.payload.get("name"))
            if item.kind != "event" or not item.payload.get("store") or item.person_id in seen:
                break
            key = (item.account_id, name)
            if programs.event_entries.get(key) or programs.goals.get(key):
                break
            head.append(item)
            seen.add(item.person_id)
        busy = waiting_people(conn, ((i.account_id, i.person_id) for i in head))
    taken = next((n for n, item in enumerate(head) if item.person_id in busy), len(head))
    if not taken:
        return 0
    consumed = [item.id for item in head[:taken]]
    kept = [
        EventRow(
            item.account_id,
            item.person_id,
            str(item.payload.get("name")),
            orjson.dumps(item.payload.get("properties") or {}).decode(),
            int(item.payload.get("time", item.due_at)),
            at,
        )
        for item in head[:taken]
    ]

    def write(conn: Connection) -> int:
        ctx.scope.fence(conn)
        write_changes(conn, Changes(consumed_inbox=consumed))
        count_reports(conn, kept)
        insert_events(conn, kept, skip_deleted=True)  # a deleted person's reports go too
        return taken

    return int(ctx.db.write(write))
