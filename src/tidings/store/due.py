"""When the engine has work next: the earliest due timer, inbox stimulus or outbox row."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from tidings.store.tables import (
    inbox,
    outbox,
    participations,
)


def next_due(conn: Connection) -> int | None:
    """The earliest instant at which any work is due (timer, inbox or outbox)."""
    candidates = [
        conn.execute(
            select(func.min(participations.c.wake_at)).where(
                participations.c.phase == "waiting", participations.c.wake_at.is_not(None)
            )
        ).scalar(),
        conn.execute(select(func.min(inbox.c.due_at))).scalar(),
        conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(
                outbox.c.status.in_(["pending", "sending"])
            )
        ).scalar(),
    ]
    found = [int(c) for c in candidates if c is not None]
    return min(found) if found else None
