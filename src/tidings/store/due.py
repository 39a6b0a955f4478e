"""When the engine has work next: the earliest due timer, inbox stimulus or outbox row."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from tidings.store.tables import (
    inbox,
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
        # the outbox's due rows, each kind read by its own partial index
        *(
            conn.exec_driver_sql(f"SELECT min(next_attempt_at) FROM outbox WHERE {due}").scalar()
            for due in (
                "status = 'pending' AND connection_id IS NULL",
                "kind = 'call_api' AND status IN ('pending', 'sending')",
                "connection_id IS NOT NULL AND status IN ('pending', 'sending')",
            )
        ),
    ]
    found = [int(c) for c in candidates if c is not None]
    return min(found) if found else None
