"""Transitional: the names store/journeys.py held before it was split by what it stores
(participations, timers, inbox, outbox, snapshots, changes, ids, raw, due), re-exported
for callers not moved yet (engine/dispatch.py, engine/api_calls.py,
api/routes/participants.py and a few tests, whose owners move them). New code imports
the module that holds the name; remove this module once nothing imports it.
"""

from tidings.store.changes import Changes, enqueue, write_changes
from tidings.store.due import next_due
from tidings.store.ids import next_ids
from tidings.store.inbox import BUNDLE, INBOX_PAGE, InboxItem, due_inbox
from tidings.store.outbox import (
    Send,
    has_due_calls,
    has_pending_sends,
    insert_outbox,
    message_row,
    outbox_sql,
    pending_sends,
)
from tidings.store.participations import (
    COLUMNS,
    EMPTY_AS_NULL,
    JSON_COLUMNS,
    Row,
    history,
    live_of,
    waiting_people,
)
from tidings.store.raw import CHUNK, fetch, partition_sql, person_partition_sql, stream
from tidings.store.snapshots import existing_people, load_people
from tidings.store.timers import due_timers, first_timer, timed_people

__all__ = [
    "BUNDLE",
    "CHUNK",
    "COLUMNS",
    "EMPTY_AS_NULL",
    "INBOX_PAGE",
    "JSON_COLUMNS",
    "Changes",
    "InboxItem",
    "Row",
    "Send",
    "due_inbox",
    "due_timers",
    "enqueue",
    "existing_people",
    "fetch",
    "first_timer",
    "has_due_calls",
    "has_pending_sends",
    "history",
    "insert_outbox",
    "live_of",
    "load_people",
    "message_row",
    "next_due",
    "next_ids",
    "outbox_sql",
    "partition_sql",
    "pending_sends",
    "person_partition_sql",
    "stream",
    "timed_people",
    "waiting_people",
    "write_changes",
]
