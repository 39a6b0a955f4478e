"""Messages that go out through a connection: claimed from the outbox, sent in provider
batches on the sender's own event loop, settled as their answers come back.

- **Claim** (`claim`, in a write): due rows of the owned partitions are leased
  (`sending` for `TIDINGS_SEND_LEASE_SECONDS`, 120 by default); on PostgreSQL rows
  another worker holds are skipped, on SQLite they are read before the write. A crash
  between claim and settle leaves them to be claimed again when the lease ends; the
  outbox id is the provider's message id (Infobip `messageId`, the email's Message-ID),
  so a provider that de-duplicates sends them once. Twilio does not: a row claimed
  again while still `sending` carries `unknown_since` (`Outgoing.unknown_since`), and
  the Twilio provider looks the earlier try up before it sends again.
- **Send** (`Sender`, a thread with one event loop, so keep-alive connections live
  across batches): each connection's messages go in batches of its provider's
  `max_batch`, a few requests in flight per connection, paced by the connection's
  `messagesPerSecond` per sender. A dead provider only holds its own requests: the
  engine never waits on the real clock (answers are settled at the next round). A
  batch starts within half its claim's lease (`Job.budget`) or not at all: messages
  with no turn by then (a paced or a slow connection's) are answered `later` and released
  (`pending`, due at once, the try not counted), never kept waiting until another
  claim takes them too. Every settle is fenced by its claim's lease
  (`Claimed.leased_until`): a late answer changes nothing of a row claimed again.
- **Settle** (`settle`, in a write): `accepted` -> `sent` (the report comes by webhook:
  services/deliveries.py); `failed` -> `failed`, a `message.failed` event with the
  provider's reason and the result a failover or a voice call waits for; `retry` ->
  `pending` again after `Retry-After` or a backoff with jitter, until `MAX_ATTEMPTS`.
- **Prices asked later** (`price_row`, kind `price`): a provider that prices a message
  only after its report (Twilio's calls: `Report.price_later`) is asked by a row of its
  own, sent like a message (`content["priceOf"]`): `retry` while it has not priced it,
  and its `accepted` price replaces the message's (price and `trafficCost`, as a
  reported price does). It reports nothing to anyone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tidings.channels import ApiClient, CallApi
from tidings.channels.providers import Outgoing, Provider, SendResult, Webhooks
from tidings.channels.registry import UNREPORTED, make_provider
from tidings.domain import tracking
from tidings.domain.prices import price_micros
from tidings.engine import calls
from tidings.engine.figures import PROVIDER_ERRORS, EngineFigures
from tidings.store import changes, connections, provider_outbox
from tidings.store.accounts import price_tables
from tidings.store.connections import ConnectionRow
from tidings.store.counts import add_counters, channel_counter
from tidings.store.outbox import Sendable
from tidings.store.provider_outbox import Alike, Claimed, Sent

log = logging.getLogger("tidings.sending")

MICROS = 1_000_000
MAX_ATTEMPTS = 10
BACKOFF_FIRST = 1.0  # seconds after the first try that could not go
BACKOFF_CAP = 600.0
IN_FLIGHT = 4  # requests in flight per connection
# Messages claimed at most per round: a round during a big launch takes a part of the
# launch (~0.4 s for 5,000 people), so 5,000 a round sent 12,500 a second while the launch
# wrote 48,000 (`tidings bench dispatch --provider infobip --messages 1000000`: 21,195
# messages/s at 5,000, 23,221 at 20,000; the docs/decisions record, 2026-12-05).
CLAIM = 20_000
PRICE = "price"  # the kind of an outbox row that asks a provider for a message's price


def claim(conn: Connection, rows: Sequence[Claimed], now: int) -> list[Claimed]:
    """Claim the rows `provider_outbox.due` read (in this write on PostgreSQL, where it
    skips the rows another worker holds; before it on SQLite, out of the writer's lock):
    those still due are leased until their `leased_until`; answer them."""
    if not rows:
        return []
    leased = provider_outbox.lease(conn, [r.id for r in rows], now, rows[0].leased_until)
    claimed = [r for r in rows if r.id in leased]
    calls.playing(conn, claimed, now)  # voice messages on a live call: the call plays them
    return claimed


@dataclass(frozen=True)
class Job:
    """One connection's claimed messages (`connection` None: it was deleted since).
    `budget`: seconds from the hand-over within which a batch may still start; messages
    with no turn by then (a paced connection's, or queued behind a slow provider's
    requests) are answered `later` (released, not sent), so none waits for its turn
    beyond its claim's lease and is claimed again while it still waits (then it would
    go twice)."""

    connection: ConnectionRow | None
    rows: list[Claimed]
    budget: float | None = None


def jobs(conn: Connection, claimed: Sequence[Claimed], budget: float | None = None) -> list[Job]:
    by_connection: dict[int, list[Claimed]] = defaultdict(list)
    for row in claimed:
        by_connection[row.connection_id].append(row)
    found = connections.by_ids(conn, list(by_connection))
    return [Job(found.get(cid), rows, budget) for cid, rows in by_connection.items()]


@dataclass(frozen=True)
class Links:
    """The URLs a message carries, under the server's public URL: the providers'
    webhooks, and the tracking and unsubscribe links (signed with `key`)."""

    public_url: str
    key: bytes = b""

    def webhooks(self, token: str) -> Webhooks:
        base = f"{self.public_url.rstrip('/')}/api/v1/webhooks/{token}"
        return Webhooks(delivery=f"{base}/delivery", inbound=f"{base}/inbound")

    def track(self, message: int, kind: tracking.Kind, index: int = 0) -> str:
        token = tracking.encode(tracking.Token(message, kind, index), self.key)
        path = "u" if kind == "unsubscribe" else "t"
        return f"{self.public_url.rstrip('/')}/{path}/{token}"


def with_tracking(
    message: int, channel: str | None, content: dict[str, Any], track_links: bool, links: Links
) -> tuple[dict[str, Any], str | None]:
    """A person's message as it goes out, and its unsubscribe URL: an email with its links
    tracked, an open pixel and a visible unsubscribe link; another channel's text with
    its links tracked when the element says `trackLinks`. `content` itself is never
    changed (a copy is, when anything is rewritten)."""

    def click(i: int) -> str:
        return links.track(message, "click", i)

    if channel == "email":
        html, text = content.get("html"), content.get("text")
        first = len(tracking.links(html, is_html=True)) if isinstance(html, str) else 0
        if isinstance(html, str):
            html = tracking.rewrite(html, is_html=True, link=click)
            html = tracking.with_pixel(html, links.track(message, "open"))
        if isinstance(text, str):
            text = tracking.rewrite(text, is_html=False, link=click, start=first)
        unsubscribe = links.track(message, "unsubscribe")
        html, text = tracking.with_unsubscribe(html, text, unsubscribe)
        changed = {k: v for k, v in (("html", html), ("text", text)) if v is not None}
        return {**content, **changed}, unsubscribe
    if track_links and isinstance(content.get("text"), str):
        text = tracking.rewrite(content["text"], is_html=False, link=click)
        return {**content, "text": text}, None
    return content, None


def outgoing(row: Claimed, links: Links) -> Outgoing:
    """The message a claimed row asks for, as the provider is handed it (a person's with
    its tracking: `with_tracking`)."""
    payload = row.payload
    content: dict[str, Any] = payload.get("content") or {}  # read, never changed
    unsubscribe = None
    if row.kind == "message" and row.person_id is not None:
        tracked = bool(payload.get("trackLinks"))
        content, unsubscribe = with_tracking(row.id, row.channel, content, tracked, links)
    return Outgoing(
        id=str(row.id),
        channel=row.channel or "sms",
        to=str(payload.get("to") or ""),
        sender=str(payload.get("from") or ""),
        content=content,
        parts=int(payload.get("parts") or 1),
        unsubscribe_url=unsubscribe,
        unknown_since=None if row.unknown_since is None else row.unknown_since / MICROS,
    )


def tracked_links(content: dict[str, Any], channel: str | None) -> list[str]:
    """The links of a message's content in the order `outgoing` numbered them."""
    if channel == "email":
        html, text = content.get("html"), content.get("text")
        found = tracking.links(html, is_html=True) if isinstance(html, str) else []
        return found + (tracking.links(text, is_html=False) if isinstance(text, str) else [])
    text = content.get("text")
    return tracking.links(text, is_html=False) if isinstance(text, str) else []


Done = list[tuple[Claimed, SendResult, str]]  # each row, its answer, its provider


class _Pace:
    """At most `rate` messages a second (a token bucket holding one second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()

    async def take(self, n: int, deadline: float | None = None) -> bool:
        """Wait for `n` messages' turn; False (nothing taken) when it would come after
        `deadline` (monotonic seconds)."""
        while True:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= min(n, self.rate):
                self.tokens -= n
                return True
            wait = (min(n, self.rate) - self.tokens) / self.rate
            if deadline is not None and now + wait > deadline:
                return False
            await asyncio.sleep(wait)


class Sender:
    """One long-lived event loop in its own thread, holding one provider per connection
    (made again when the connection changes). `http`: makes the HTTP client the HTTP
    providers send through (None: the real `CallApi`); `virtual`: no pacing (time does
    not pass on the virtual clock); `pause`: awaited before a batch is built (the
    runner's: its process's writer finishes its turn with the SQLite lock first, which
    the batch's Python would otherwise slow: `Committer.wait_while_holding`)."""

    def __init__(
        self,
        *,
        links: Links,
        allow_private: bool,
        virtual: bool,
        http: Callable[[], ApiClient] | None = None,
        make: Callable[..., Provider] = make_provider,
        pause: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.links = links
        self._pause = pause
        self.allow_private = allow_private
        self._virtual = virtual
        self._make_http = http
        self._make = make
        self._http: ApiClient | None = None
        self._providers: dict[int, tuple[int, Provider]] = {}
        self._paces: dict[tuple[int, str], _Pace] = {}
        self._limits: dict[int, asyncio.Semaphore] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tidings-sending", daemon=True
        )
        self._thread.start()

    def submit(self, work: list[Job], private: dict[int, bool]) -> Any:
        """Send the jobs; a future of every claimed row with its result."""
        return asyncio.run_coroutine_threadsafe(self._send_all(work, private), self._loop)

    async def _send_all(self, work: list[Job], private: dict[int, bool]) -> Done:
        parts = await asyncio.gather(*(self._job(job, private) for job in work))
        return [pair for part in parts for pair in part]

    async def _job(self, job: Job, private: dict[int, bool]) -> Done:
        connection = job.connection
        if connection is None:
            gone = "the connection was deleted before the message went out"
            return [(row, SendResult(str(row.id), "failed", gone), "") for row in job.rows]
        try:
            provider = await self._provider(connection, private.get(connection.account_id, False))
        except Exception as exc:  # settings that no longer validate: refused, not retried
            log.warning("connection %s cannot be used: %s", connection.id, type(exc).__name__)
            reason = f"connection {connection.id} cannot be used: its settings are not valid"
            name = connection.provider
            return [(row, SendResult(str(row.id), "failed", reason), name) for row in job.rows]
        limit = self._limits.setdefault(connection.id, asyncio.Semaphore(IN_FLIGHT))
        webhooks = self.links.webhooks(connection.webhook_token)
        rate = connection.settings.get("messagesPerSecond")
        by_sender: dict[str, list[Claimed]] = defaultdict(list)
        for row in job.rows:
            by_sender[str(row.payload.get("from") or "")].append(row)
        size = provider.max_batch
        if rate and not self._virtual:  # a paced connection: no batch beyond a second's worth
            size = max(1, min(size, int(float(rate))))
        batches = [
            rows[i : i + size] for rows in by_sender.values() for i in range(0, len(rows), size)
        ]

        deadline = None if job.budget is None else time.monotonic() + job.budget

        async def one(rows: list[Claimed]) -> Done:
            results = await sent(rows)
            if results is None:  # released, not sent
                return [(row, SendResult(str(row.id), "later"), provider.name) for row in rows]
            by_id = {r.id: r for r in results}
            missing = SendResult("", "retry", "the provider did not answer for this message")
            return [(row, by_id.get(str(row.id), missing), provider.name) for row in rows]

        async def sent(rows: list[Claimed]) -> list[SendResult] | None:
            """The provider's answers; None for a batch whose turn (its pace, or a request
            slot behind the connection's others) comes after the budget."""
            if rate and not self._virtual:
                sender = str(rows[0].payload.get("from") or "")
                pace = self._paces.setdefault((connection.id, sender), _Pace(float(rate)))
                if not await pace.take(len(rows), deadline):
                    return None
            async with limit:
                if deadline is not None and time.monotonic() > deadline:
                    return None
                if self._pause is not None:  # building a batch waits for the writer's turn
                    await self._pause()
                try:
                    return await provider.send([outgoing(r, self.links) for r in rows], webhooks)
                except Exception:
                    log.exception("provider %s raised; the batch is tried again", provider.name)
                    return [SendResult(str(r.id), "retry", "provider error") for r in rows]

        parts = await asyncio.gather(*(one(b) for b in batches))
        return [pair for part in parts for pair in part]

    async def _provider(self, connection: ConnectionRow, allow: bool) -> Provider:
        held = self._providers.get(connection.id)
        if held is not None and held[0] == connection.updated_at:
            return held[1]
        if held is not None:
            await held[1].aclose()
        if self._http is None:
            if self._make_http is not None:
                self._http = self._make_http()
            else:
                self._http = CallApi(allow_private=self.allow_private, sleep=self._no_wait)
        provider = self._make(
            connection.provider,
            connection.settings,
            http=self._http,
            allow_private=self.allow_private or allow,
        )
        self._providers[connection.id] = (connection.updated_at, provider)
        return provider

    async def _no_wait(self, _seconds: float) -> None:
        return None  # providers are sent with retries=0: the dispatcher retries

    def close(self) -> None:
        async def shut() -> None:
            for _, provider in self._providers.values():
                await provider.aclose()
            if self._http is not None:
                await self._http.aclose()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()


def backoff(message_id: int, attempt: int) -> float:
    """Seconds before try `attempt + 1`: 1, 2, 4, ... <= 600, times 0.5 to 1.5 (jitter,
    so the messages a provider refused together do not come back together). The
    jitter is a hash of the message and the try: reproducible, and spread all the same."""
    digest = hashlib.blake2b(f"{message_id}:{attempt}".encode(), digest_size=8).digest()
    jitter = 0.5 + int.from_bytes(digest, "big") / 2**64
    return min(BACKOFF_FIRST * 2.0 ** (attempt - 1), BACKOFF_CAP) * jitter


def settle(
    conn: Connection,
    now: int,
    done: Done,
    *,
    partitions: int,
    figures: EngineFigures | None = None,
) -> int:
    """Write what the providers answered (see the module doc); answer how many."""
    accepted: list[tuple[str | None, float | None, int, int]] = []
    again: list[tuple[int, str | None, int, int]] = []
    later: list[tuple[int, int]] = []
    failed: list[tuple[str, int, str | None, float | None, int]] = []
    counts: dict[tuple[str, str], int] = defaultdict(int)
    rows: dict[int, Claimed] = {}
    tables = price_tables(conn, {row.account_id for row, _, _ in done})
    items: list[dict[str, Any]] = []
    costs: Costs = defaultdict(int)
    prices: list[tuple[Claimed, float]] = []  # a price asked later, and the answer
    charged: list[tuple[Claimed, int]] = []  # accepted messages' traffic cost (micros)
    for row, result, provider in done:
        rows[row.id] = row
        if result.status == "later":
            later.append((row.id, row.leased_until))
            continue
        if result.status == "accepted" and row.kind == PRICE:
            accepted.append((None, result.price, row.id, row.leased_until))
            if result.price is not None:
                prices.append((row, result.price))
            continue
        if result.status == "accepted":
            price = result.price
            if price is None and row.account_id in tables:
                to, parts = str(row.payload.get("to") or ""), int(row.payload.get("parts") or 1)
                micros = price_micros(tables[row.account_id], row.channel, to, parts)
                price = micros / 1_000_000 if micros else None
            accepted.append((result.provider_id, price, row.id, row.leased_until))
            if price and row.kind == "message":
                charged.append((row, round(price * 1_000_000)))
            continue
        if result.status == "retry" and row.attempts < MAX_ATTEMPTS:
            wait = result.retry_after if result.retry_after is not None else None
            seconds = wait if wait is not None else backoff(row.id, row.attempts)
            when = now + int(max(seconds, 0.0) * MICROS)
            again.append((when, result.reason, row.id, row.leased_until))
            counts[(provider, "retry")] += 1
            continue
        reason = result.reason or "the provider refused the message"
        if result.status == "retry":
            reason = f"gave up after {row.attempts} tries: {reason}"
        failed.append(("failed", now, reason[:500], result.price, row.id))
        counts[(provider, "failed")] += 1
    if prices:
        _priced(conn, prices, costs)
    if accepted:
        # a late answer of a try whose row was claimed again costs nothing: the newer
        # try's answer counts the message's cost
        fenced = provider_outbox.accepted(conn, accepted, now)
        for row, micros in charged:
            if row.id not in fenced:
                add_cost(costs, row, micros)
        add_counters(conn, dict(costs), now)
    # a provider without delivery reports: accepted is delivered (registry.UNREPORTED)
    # ... and so is an action on a live call (answer, hang up: engine/calls.py)
    final = [
        ("delivered", now, None, None, row.id)
        for row, result, provider in done
        if result.status == "accepted" and (provider in UNREPORTED or row.kind in ("call", PRICE))
    ]
    for oid in provider_outbox.finish(conn, final, leaving=("sent",)):
        items += report_items(sent_of(rows[oid]), "delivered", now, partitions=partitions)
    if again:
        provider_outbox.again(conn, again)
    if later:
        provider_outbox.release(conn, later, now)
    leased = {f[4]: rows[f[4]].leased_until for f in failed}
    changed = provider_outbox.finish(conn, failed, leaving=("sending",), leased=leased)
    reasons = {f[4]: f[2] for f in failed}
    for oid in changed:
        row = rows[oid]
        items += report_items(
            sent_of(row), "failed", now, partitions=partitions, reason=reasons.get(oid)
        )
    changes.enqueue(conn, items)
    if figures is not None:
        for (provider, kind), n in counts.items():
            if (provider, kind) in PROVIDER_ERRORS:
                figures.provider_errors(provider, kind, n)
    return len(done)


Costs = dict[tuple[int, int, int, str, str], int]


def _priced(conn: Connection, prices: Sequence[tuple[Claimed, float]], costs: Costs) -> None:
    """The prices providers answered for messages (`price` rows): each replaces its
    message's price, and the traffic cost counts the difference."""
    by_connection: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for row, price in prices:
        asked = (row.payload.get("content") or {}).get("priceOf") or {}
        target = asked.get("message") if isinstance(asked, dict) else None
        if isinstance(target, int):
            by_connection[row.connection_id].append((target, price))
    for connection_id, wanted in by_connection.items():
        sent = provider_outbox.of_connection(conn, connection_id, [oid for oid, _ in wanted])
        changed: list[tuple[float, int]] = []
        for oid, price in wanted:
            message = sent.get(oid)
            if message is None or message.kind != "message":
                continue
            add_cost(costs, message, round(price * MICROS) - round((message.price or 0) * MICROS))
            changed.append((price, oid))
        provider_outbox.priced(conn, changed)


def price_row(message: Sent, connection_id: int, provider_id: str, now: int) -> dict[str, Any]:
    """The outbox row (kind `price`) that asks the message's provider for its price
    (`Report.price_later`): due now, through the message's connection."""
    content = {"priceOf": {"id": provider_id, "message": message.id}}
    return {
        "account_id": message.account_id,
        "participation_id": None,
        "flow_id": None,
        "version": None,
        "element": None,
        "person_id": message.person_id,
        "created_at": now,
        "next_attempt_at": now,
        "kind": PRICE,
        "channel": message.channel,
        "payload": {"to": "", "from": "", "content": content, "parts": 1, "wantsResult": False},
        "connection_id": connection_id,
    }


def add_cost(costs: Costs, message: Claimed | Sent | Sendable | Alike, micros: int) -> None:
    """Count `micros` of traffic cost on the message's flow and element (counters
    `trafficCostMicros`, answered as `trafficCost` by the performance read)."""
    if message.flow_id is None or not micros:
        return
    where = (message.account_id, message.flow_id, message.version or 0)
    costs[(*where, "", "trafficCostMicros")] += micros
    costs[(*where, message.element or "", "trafficCostMicros")] += micros
    if message.channel:
        costs[channel_counter(*where, message.channel, "costMicros")] += micros


def sent_of(row: Claimed) -> Sent:
    """A claimed row as a report reads it (`report_items`)."""
    payload = row.payload
    return Sent(
        row.id,
        row.account_id,
        row.participation_id,
        row.flow_id,
        row.version,
        row.element,
        row.person_id,
        row.kind,
        row.channel,
        "sending",
        bool(payload.get("wantsResult")),
        payload.get("attempt"),
        None,
    )


def report_items(
    message: Sent,
    report: str,
    due: int,
    *,
    partitions: int,
    reason: str | None = None,
    digits: str | None = None,
    url: str | None = None,
    result: bool = True,
) -> list[dict[str, Any]]:
    """The inbox stimuli of one report of a message: its person's event
    `message.{report}` (with the reason of a failure, the URL of a click) and, when a
    failover or a voice call waits for it (`result`), the result it waits for."""
    m = message
    if m.kind != "message" or m.person_id is None:
        return []
    partition = m.person_id % partitions
    properties: dict[str, Any] = {
        "flow": m.flow_id,
        "version": m.version,
        "element": m.element,
        "channel": m.channel,
        "messageId": str(m.id),
    }
    if reason is not None and report == "failed":
        properties["reason"] = reason
    if url is not None:
        properties["url"] = url
    items: list[dict[str, Any]] = [
        {
            "account_id": m.account_id,
            "partition": partition,
            "person_id": m.person_id,
            "kind": "event",
            "payload": {
                "name": f"message.{report}",
                "properties": properties,
                "time": due,
                "store": True,
            },
            "due_at": due,
        }
    ]
    if result and m.wants_result and m.participation_id is not None:
        outcome = report
        data: dict[str, Any] = {}
        if m.channel == "voice":
            outcome = "answered" if report == "delivered" else "notAnswered"
            if digits:
                outcome, data["digits"] = "collected", digits
        if m.attempt is not None:
            data["attempt"] = m.attempt
        payload: dict[str, Any] = {"element": m.element, "outcome": outcome}
        if data:
            payload["data"] = data
        items.append(
            {
                "account_id": m.account_id,
                "partition": partition,
                "person_id": m.person_id,
                "kind": "result",
                "participation_id": m.participation_id,
                "payload": payload,
                "due_at": due,
            }
        )
    return items
