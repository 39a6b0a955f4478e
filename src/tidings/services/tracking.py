"""What a tracking or unsubscribe link does when it is followed (DESIGN.md, Tracking and
Consent). The token (domain/tracking.py) is the authority: it names the message and is
signed; a wrong one finds nothing, and the answer says no more than that.

- A click answers the original URL (the caller redirects) and records `message.clicked`
  with it. **Scanners**: mail security gateways fetch every link of a message seconds
  after it arrives, before anyone could have read it. A click that comes within
  `PREFETCH_WINDOW` of the message being handed to the provider, before its open pixel
  was loaded, is taken for such a prefetch: it is redirected all the same but not
  recorded.
- The open pixel records `message.seen`, once per message.
- The unsubscribe link's one-click `POST` unsubscribes the person from the message's
  channel and records `message.unsubscribed`; a `GET` changes nothing (scanners follow
  links too).
"""

from __future__ import annotations

from sqlalchemy import Connection

from tidings.domain.tracking import Token
from tidings.engine.sending import report_items, tracked_links
from tidings.store import changes, provider_outbox
from tidings.store.people import add_unsubscribed

MICROS = 1_000_000
PREFETCH_WINDOW = 30 * MICROS


def click(conn: Connection, token: Token, now: int, *, partitions: int) -> str | None:
    """The URL the n-th link of the message leads to (recording the click), or None."""
    found = provider_outbox.tracked(conn, token.message)
    if found is None or token.kind != "click":
        return None
    urls = tracked_links(found.content, found.message.channel)
    if token.index >= len(urls):
        return None
    url = urls[token.index]
    prefetch = found.seen_at is None and now - found.handed_at < PREFETCH_WINDOW
    if not prefetch:
        items = report_items(
            found.message, "clicked", now, partitions=partitions, url=url, result=False
        )
        changes.enqueue(conn, items)
    return url


def opened(conn: Connection, token: Token, now: int, *, partitions: int) -> bool:
    """Record the message's first open; answer whether the token named a message."""
    found = provider_outbox.tracked(conn, token.message)
    if found is None or token.kind != "open":
        return False
    if provider_outbox.first_time(conn, "seen_at", [token.message], now):
        items = report_items(found.message, "seen", now, partitions=partitions, result=False)
        changes.enqueue(conn, items)
    return True


def known(conn: Connection, token: Token) -> bool:
    """Whether an unsubscribe token names a message (a GET shows the page, no more)."""
    return token.kind == "unsubscribe" and provider_outbox.tracked(conn, token.message) is not None


def unsubscribe(conn: Connection, token: Token, now: int, *, partitions: int) -> bool:
    """Unsubscribe the message's person from its channel; answer whether the token named
    a message (a repeated unsubscribe changes nothing more)."""
    found = provider_outbox.tracked(conn, token.message)
    if found is None or token.kind != "unsubscribe":
        return False
    message = found.message
    if message.person_id is None or message.channel is None:
        return True
    if add_unsubscribed(conn, message.account_id, message.person_id, [message.channel], now):
        items = report_items(message, "unsubscribed", now, partitions=partitions, result=False)
        changes.enqueue(conn, items)
    return True
