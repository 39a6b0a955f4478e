"""A connection's `messagesPerSecond` paces what the dispatcher hands its provider, per
sender: a burst within the rate goes at once, the rest waits for its turn. The sender's
`pause` (its process's writer's turn with the SQLite lock) holds a batch before it is
built."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.background import started
from tidings.channels.standins.infobip import InfobipStandin
from tidings.engine.sending import Job, Links, Sender
from tidings.store.connections import ConnectionRow
from tidings.store.provider_outbox import Claimed

KEY = "pacing-key"


def claimed(n: int, sender: str) -> Claimed:
    payload = {"to": f"+38591{n:07d}", "from": sender, "content": {"text": "Hi"}, "parts": 1}
    return Claimed(n, 1, None, None, None, "s", None, "message", "sms", payload, 1, 7)


@contextmanager
def sending(
    pause: Callable[[], Awaitable[None]] | None = None, **standin: Any
) -> Iterator[tuple[InfobipStandin, Sender, Any]]:
    """An Infobip stand-in, a sender (with `pause`), and a connection to the stand-in
    made from its extra settings."""
    provider = InfobipStandin(api_key=KEY, **standin)
    with started(provider):
        sender = Sender(
            links=Links("http://127.0.0.1:9"), allow_private=True, virtual=False, pause=pause
        )

        def connection(**settings: Any) -> ConnectionRow:
            settings = {"baseUrl": provider.url, "apiKey": KEY, **settings}
            return ConnectionRow(7, 1, "c", "infobip", ("sms",), settings, None, "t" * 43, 0, 0)

        try:
            yield provider, sender, connection
        finally:
            sender.close()


def test_a_connection_sends_no_faster_than_its_rate_per_sender() -> None:
    with sending() as (standin, sender, connect):
        connection = connect(messagesPerSecond=20)
        started_at = time.monotonic()
        rows = [claimed(n, "Shop") for n in range(1, 41)]
        done = sender.submit([Job(connection, rows)], {1: True}).result(timeout=30)
        one_sender = time.monotonic() - started_at
        assert [r.status for _, r, _ in done] == ["accepted"] * 40
        # 20 at once, 20 more a second later: not all within the first second
        assert one_sender >= 0.9
        assert len(standin.messages) == 40

        # two senders each have their own pace: 20 each go at once
        started_at = time.monotonic()
        rows = [claimed(100 + n, "Alpha") for n in range(20)]
        rows += [claimed(200 + n, "Beta") for n in range(20)]
        done = sender.submit([Job(connection, rows)], {1: True}).result(timeout=30)
        assert [r.status for _, r, _ in done] == ["accepted"] * 40
        assert time.monotonic() - started_at < one_sender


def test_messages_with_no_turn_within_the_budget_are_released_not_kept_waiting() -> None:
    """A claim's lease ends while a slow pace still holds its messages: the messages
    whose turn comes after the job's budget are answered `later` at once (released to
    be claimed again, never sent by this job), so no claim outlives its lease."""
    with sending() as (standin, sender, connect):
        started_at = time.monotonic()
        rows = [claimed(n, "Shop") for n in range(1, 61)]
        job = Job(connect(messagesPerSecond=20), rows, budget=0.5)
        done = sender.submit([job], {1: True}).result(30)
        took = time.monotonic() - started_at
        statuses = [r.status for _, r, _ in done]
        assert statuses.count("accepted") == 20  # the first second's worth
        assert statuses.count("later") == 40
        assert took < 1.5  # it did not wait for the turns it gave up
        assert len(standin.messages) == 20
        later = {row.id for row, r, _ in done if r.status == "later"}
        assert later.isdisjoint(int(m["messageId"]) for m in standin.messages)


def test_batches_queued_behind_a_slow_provider_past_the_budget_are_released() -> None:
    """A provider that takes a second to answer holds a connection's few requests in
    flight; the batches queued behind them past the job's budget are released `later`
    instead of going out after their claim's lease could have ended."""
    # the budget leaves the first requests 1.5 s to get their slots (a loaded machine
    # once took longer than 0.5 s); the queued ones would get theirs only after 3 s
    with sending(answer_delay=3.0) as (standin, sender, connect):
        rows = [claimed(n, "Shop") for n in range(1, 6001)]  # six requests of 1,000
        done = sender.submit([Job(connect(), rows, budget=1.5)], {1: True}).result(30)
        statuses = [r.status for _, r, _ in done]
        assert statuses.count("accepted") == 4000  # IN_FLIGHT requests went at once
        assert statuses.count("later") == 2000
        assert len(standin.messages) == 4000


def test_a_batch_waits_for_the_senders_pause_before_it_is_built() -> None:
    """The runner's pause (its writer holds the SQLite lock): nothing is built or sent
    while it holds, and everything goes once it lets go."""
    released = threading.Event()
    paused: list[float] = []

    async def pause() -> None:
        paused.append(time.monotonic())
        await asyncio.to_thread(released.wait, 30)

    with sending(pause=pause) as (standin, sender, connect):
        rows = [claimed(n, "Shop") for n in range(1, 6)]
        future = sender.submit([Job(connect(), rows)], {1: True})
        time.sleep(0.3)
        assert paused  # the batch asked
        assert standin.messages == []  # and waits
        assert not future.done()
        released.set()
        done = future.result(timeout=30)
        assert [r.status for _, r, _ in done] == ["accepted"] * 5
        assert len(standin.messages) == 5
