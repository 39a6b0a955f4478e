"""What an inbound message changes (`POST /webhooks/{token}/inbound`).

Each message finds its person by the sender's phone number (the first person of the
account with that number), or creates one with it, as Braze and Infobip do. It becomes
the person's `message.received` event (`channel`, `from`, `to`, `text`, `keyword`: the
first word, upper-cased), which feeds `inbound` entries and `evaluate_inbound` like any
event. A message the provider sends again (the same provider id) is taken once.
`STOP` (and its usual synonyms) unsubscribes the sender from that channel and records
`message.unsubscribed`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.channels.providers import Inbound
from tidings.domain.inbound import OPT_OUT, first_word
from tidings.domain.people import PersonChanges
from tidings.store import changes, idempotency
from tidings.store.connections import ConnectionRow
from tidings.store.people import PersonWrite, add_unsubscribed, person_by_phone, write_people

STOP_WORDS = frozenset(word.upper() for word in OPT_OUT)
_DIGITS = re.compile(r"\+?[0-9]{3,15}")


def number(text: str) -> str:
    """A phone number as E.164 with its "+"; anything else (a sender name) as given."""
    cleaned = text.strip().removeprefix("whatsapp:").removeprefix("viber:")
    compact = re.sub(r"[\s().-]", "", cleaned)
    if _DIGITS.fullmatch(compact):
        return "+" + compact.lstrip("+")
    return cleaned


def receive(
    conn: Connection,
    connection: ConnectionRow,
    messages: Sequence[Inbound],
    now: int,
    *,
    partitions: int,
) -> int:
    """Take the messages (see the module doc); answer how many were new."""
    account = connection.account_id
    items: list[dict[str, Any]] = []
    unsubscribe: dict[int, set[str]] = {}
    taken = 0
    for message in messages:
        if message.provider_id:
            key = f"{connection.id}:{message.provider_id}"[:255]
            if idempotency.recall(conn, account, "inbound", key, now) is not None:
                continue
            idempotency.remember(conn, account, "inbound", key, 200, {}, now)
        sender = number(message.sender)
        person = person_of(conn, account, sender, now)
        first = (first_word(message.text) or "").upper()
        properties = {
            "channel": message.channel,
            "from": sender,
            "to": number(message.to),
            "text": message.text,
            "keyword": first,
        }
        items.append(event_item(account, person, "message.received", properties, now, partitions))
        if first in STOP_WORDS:
            unsubscribe.setdefault(person, set()).add(message.channel)
            items.append(
                event_item(
                    account,
                    person,
                    "message.unsubscribed",
                    {"channel": message.channel, "from": sender},
                    now,
                    partitions,
                )
            )
        taken += 1
    for person, channels in unsubscribe.items():
        add_unsubscribed(conn, account, person, channels, now)
    changes.enqueue(conn, items)
    return taken


def person_of(conn: Connection, account: int, phone: str, now: int) -> int:
    """The account's first person with this phone number, created when there is none."""
    found = person_by_phone(conn, account, phone)
    if found is not None:
        return found
    changes_ = PersonChanges(
        standard={}, attributes={}, phones=[phone], emails=None, tags=None, companies=None
    )
    written = write_people(conn, account, [PersonWrite(changes_)], now)[0]
    assert not isinstance(written, list)  # no company named: nothing to refuse
    return written.id


def event_item(
    account: int,
    person: int,
    name: str,
    properties: dict[str, Any],
    now: int,
    partitions: int,
) -> dict[str, Any]:
    return {
        "account_id": account,
        "partition": person % partitions,
        "person_id": person,
        "kind": "event",
        "payload": {"name": name, "properties": properties, "time": now, "store": True},
        "due_at": now,
    }
