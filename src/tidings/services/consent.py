"""Consent: the channels a person opted out of (`unsubscribed` on the person).

A person unsubscribes by an inbound `STOP` (services/inbound.py), the one-click
unsubscribe of an email (`POST /u/{token}`), or through `/people`. A send on such a
channel is not made; the journey trace says why and `sendsDropped` counts it
(domain/journey/elements/messages.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from tidings.store.people import add_unsubscribed


def unsubscribe_person(
    conn: Connection, account_id: int, person_id: int, channels: Iterable[str], now: int
) -> bool:
    """Add `channels` to the person's opt-outs; answer whether anything changed."""
    return add_unsubscribed(conn, account_id, person_id, channels, now)
