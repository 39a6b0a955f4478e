"""Consent: the channels a person opted out of (`unsubscribed` on the person).

A person unsubscribes by an inbound `STOP` (services/inbound.py), the one-click
unsubscribe of an email (`POST /u/{token}`), or through `/people`. A send on such a
channel is not made; the journey trace says why and `sendsDropped` counts it
(domain/journey/elements/messages.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from tidings.store.people import consent
from tidings.store.tables import people


def unsubscribe_person(
    conn: Connection, account_id: int, person_id: int, channels: Iterable[str], now: int
) -> bool:
    """Add `channels` to the person's opt-outs; answer whether anything changed."""
    current = conn.execute(
        select(people.c.unsubscribed).where(
            people.c.account_id == account_id, people.c.id == person_id
        )
    ).first()
    if current is None:
        return False
    before = set((current[0] or "").split())
    after = before | set(channels)
    if after == before:
        return False
    conn.execute(
        update(people)
        .where(people.c.account_id == account_id, people.c.id == person_id)
        .values(unsubscribed=consent(sorted(after)), updated_at=now)
    )
    return True
