"""Drives the engine: on the real clock a background thread works whenever something is
due (woken at once by new input); on the virtual clock `drain` moves time forward in
steps, from one due instant to the next, and returns when all work up to the target is
done, sends to the sandbox included."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from tidings.channels import ApiClient
from tidings.clock import Clock, VirtualClock
from tidings.domain.durations import from_micros, to_micros
from tidings.engine import api_calls, housekeeping, sending, sftp_imports
from tidings.engine.dispatch import dispatch_once
from tidings.engine.engine import Engine
from tidings.engine.failures import VersionFailed
from tidings.engine.scope import LeaseLost
from tidings.store import due as store_due
from tidings.store import flows, outbox, provider_outbox, secrets, traces
from tidings.store import sftp as store_sftp
from tidings.store.database import Database
from tidings.store.outage import Outage, unavailable
from tidings.store.outbox import has_due_calls, has_pending_sends

T = TypeVar("T")
log = logging.getLogger("tidings.engine")
# Real-time audiences are re-read this often on the real clock (micros); new members of
# their segments and tags enter then. The virtual clock re-reads them at every step.
AUDIENCE_REFRESH = 10 * 1_000_000
SFTP_LOOK = 250_000  # real clock: how often to look for sftp polls that are due (one read)
PRUNE_EVERY = 60 * 1_000_000  # the trace retention is enforced once a minute (micros)
GATHER_BELOW = 200
GATHER_SECONDS = 0.01


class Runner:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        engine: Engine,
        idle_seconds: float = 0.05,
        allow_private_urls: bool = False,
        trace_retention_days: int = 30,
        api_client: Callable[[], ApiClient] | None = None,
        public_url: str = "http://127.0.0.1:8000",
        send_lease_seconds: float = 120.0,
        send_ahead: int = 80_000,
        tracking: bool = True,
    ):
        self.send_ahead = send_ahead  # messages at most at the sender, unanswered
        self.tracking = tracking  # off: messages keep their links as written (simulate)
        self.send_lease = int(send_lease_seconds * 1_000_000)
        self.trace_retention = trace_retention_days * 86_400 * 1_000_000
        self._pruned_at = 0
        self.allow_private_urls = allow_private_urls
        self._caller = api_calls.Caller(
            allow_private=allow_private_urls, virtual=clock.virtual, client=api_client
        )
        self._sender = sending.Sender(
            links=sending.Links(public_url),
            allow_private=allow_private_urls,
            virtual=clock.virtual,
            http=api_client,
            pause=db.committer.wait_while_holding,
        )
        self.db = db
        self.clock = clock
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._outage = Outage(log, "the engine")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one batch at a time, whoever drives
        self._calls_lock = threading.Lock()
        # real clock: batches whose answers are awaited, and the messages each holds
        self._in_flight: dict[Any, int] = {}
        self._answers: list[Any] = []  # real clock: answers not settled yet
        self._sent: list[Any] = []  # real clock: providers' answers not settled yet
        self._audiences_at = 0
        self._sftp_at = 0
        # real clock: the thread polling SFTP servers (a big file or a slow server must
        # not hold the rounds that step everyone else), at most one at a time
        self._sftp_thread: threading.Thread | None = None

    # --- the work ------------------------------------------------------------------------

    def work_until_idle(self, now: datetime) -> int:
        """Everything due at `now`, batch after batch. Each kind of work is first looked
        for with a read, so an idle engine takes no write lock and costs no commit."""
        at = to_micros(now)
        total = 0
        failed: set[tuple[int, int]] = set()
        with self._lock:
            while True:
                started = time.perf_counter()
                try:
                    done = self._round(now, at)
                except VersionFailed as failure:
                    # One version's work failed: it fails alone, the round goes again
                    # without it (what it was part of rolled back).
                    self._fail(failure, at, failed)
                    continue
                total += done
                if done <= 0:
                    return total
                self.engine.figures.round(time.perf_counter() - started)

    def _round(self, now: datetime, at: int) -> int:
        """One round of every kind of work due at `now`; answers how much was done."""
        partitions = self.engine.partitions
        scope = self.engine.scope
        scope.checkpoint()
        if not self._sender.links.key:  # the install's link-signing key, read once
            key = self.db.write(lambda conn: secrets.secret(conn, secrets.TRACKING))
            self._sender.links = replace(self._sender.links, key=key)
            if self.tracking:
                self.engine.links = self._sender.links
        leads = scope.leads()
        owned = scope.owned()
        answered = self._settle_answers()
        with self.db.read() as conn:
            lifecycle = leads and housekeeping.has_work(conn, at)
        realtime = leads and (self.clock.virtual or at - self._audiences_at >= AUDIENCE_REFRESH)
        done = 0
        if lifecycle:
            done += self._fenced(
                lambda conn: housekeeping.housekeep(conn, at, partitions=partitions)
            )
        if realtime:
            self._audiences_at = at
            done += self._fenced(
                lambda conn: housekeeping.refresh_realtime(conn, at, partitions=partitions)
            )
        if leads and (self.clock.virtual or at - self._sftp_at >= SFTP_LOOK):
            self._sftp_at = at
            busy = self._sftp_thread is not None and self._sftp_thread.is_alive()
            polls = [] if busy else sftp_imports.due(self.db, at)
            if polls:
                poll = functools.partial(
                    sftp_imports.poll_all,
                    self.db,
                    scope.fence,
                    polls,
                    at,
                    partitions=partitions,
                    allow_private=self.allow_private_urls,
                )
                if self.clock.virtual:  # in the round: /clock/advance answers when done
                    done += poll()
                else:
                    self._sftp_thread = threading.Thread(
                        target=self._poll_beside, args=(poll,), name="tidings-sftp", daemon=True
                    )
                    self._sftp_thread.start()
        if leads and (self.clock.virtual or at - self._pruned_at >= PRUNE_EVERY):
            self._pruned_at = at
            done += self._prune(at - self.trace_retention)
        stepped, claimed = self.engine.run_once(
            now,
            also=functools.partial(api_calls.claim, now=at, owned=owned, partitions=partitions),
        )
        done += stepped
        with self.db.read() as conn:
            sends = has_pending_sends(conn, at, owned, partitions)
        if sends:
            done += self._fenced(
                functools.partial(
                    dispatch_once,
                    now=at,
                    partitions=partitions,
                    owned=owned,
                    quiet=self.engine.quiet,
                    figures=self.engine.figures,
                    links=self.engine.links,
                )
            )
        with self.db.read() as conn:
            messages = provider_outbox.has_due(conn, at, owned, partitions)
        if messages:
            done += self._send_messages(at, owned)
        if claimed:
            done += self._run_calls(claimed)
        else:
            with self.db.read() as conn:
                calls = has_due_calls(conn, at, owned, partitions)
            if calls:
                done += self._call_apis(at, owned)
        done += answered
        return done

    def _fail(self, failure: VersionFailed, at: int, failed: set[tuple[int, int]]) -> None:
        """Mark the version failed with its reason and hold its people; raise when the
        same version fails again in this call (then its failure is not what it seemed)."""
        key = (failure.flow_id, failure.version)
        if key in failed:
            raise RuntimeError(f"{failure}, again after it was marked failed") from failure
        failed.add(key)
        log.error("%s; its people are held, other flows go on", failure, exc_info=failure)
        try:
            self.engine.settle()  # parts still in flight: whatever failed stays queued
        except Exception:
            log.debug("a part in flight failed too; its stimuli stay queued", exc_info=True)
        self._fenced(
            lambda conn: flows.fail_version(
                conn, failure.flow_id, failure.version, failure.reason, now=at
            )
        )
        self.engine.programs.invalidate()
        self.engine.forget_ids()

    def _send_messages(self, at: int, owned: frozenset[int] | None) -> int:
        """Claim the messages due at providers and hand them to the sender's loop
        (engine/sending.py). On the real clock the answers are settled at the next round;
        the virtual clock waits for them."""
        partitions = self.engine.partitions
        # half the lease to start a batch in: the rest for its answer to be settled
        budget = None if self.clock.virtual else self.send_lease / sending.MICROS / 2

        with self._calls_lock:  # the sender has enough to do: the rest waits in the store
            room = self.send_ahead - sum(self._in_flight.values())
        if room <= 0:
            return 0
        limit = min(sending.CLAIM, room)

        def due(conn: Connection) -> list[provider_outbox.Claimed]:
            return provider_outbox.due(
                conn, at, limit=limit, owned=owned, partitions=partitions, lease=self.send_lease
            )

        read = None
        if self.db.dialect == "sqlite":  # one engine claims: the read outside the write
            with self.db.read() as conn:
                read = due(conn)
            if not read:
                return 0

        def take(conn: Connection) -> tuple[list[sending.Job], dict[int, bool]]:
            # PostgreSQL reads in the write: rows another worker holds are skipped
            claimed = sending.claim(conn, read if read is not None else due(conn), at)
            private = outbox.private_url_accounts(conn, (r.account_id for r in claimed))
            return sending.jobs(conn, claimed, budget), private

        work, private = self._fenced(take)
        if not work:
            return 0
        future = self._sender.submit(work, private)
        claimed = sum(len(j.rows) for j in work)
        if self.clock.virtual:
            self._settle_sent(future.result())
        else:
            self._keep_answers(future, self._sent, "sending messages", messages=claimed)
        return claimed

    def _settle_sent(self, done: list[Any]) -> None:
        settled_at = to_micros(self.clock.now())
        partitions = self.engine.partitions
        figures = self.engine.figures
        self._fenced(
            lambda conn: sending.settle(
                conn, settled_at, done, partitions=partitions, figures=figures
            )
        )

    def _call_apis(self, at: int, owned: frozenset[int] | None) -> int:
        """Claim due API calls, run them concurrently on the caller thread's client (its
        keep-alive connections live across batches) and settle their results as stimuli."""
        partitions = self.engine.partitions
        claimed = self._fenced(
            lambda conn: api_calls.claim(conn, at, owned=owned, partitions=partitions)
        )
        if not claimed:
            return 0
        return self._run_calls(claimed)

    def _run_calls(self, claimed: list[dict[str, Any]]) -> int:
        """Run claimed calls and settle their results as stimuli. On the real clock the
        loop does not wait for the answers: they are kept as they come and settled at the
        top of the loop's next round (one write for all that came), so the next batch's
        events do not queue behind this batch's calls. The virtual clock waits: `drain`
        returns when everything is done."""
        future = self._caller.submit(claimed)
        if self.clock.virtual:
            self._settle(future.result())
            return len(claimed)
        self._keep_answers(
            future,
            self._answers,
            "API calls",
            lambda: self.engine.figures.provider_errors("call_api", "exception"),
        )
        return len(claimed)

    def _keep_answers(
        self,
        future: Any,
        kept: list[Any],
        what: str,
        failed: Callable[[], None] | None = None,
        messages: int = 0,
    ) -> None:
        """Real clock: keep a batch's answers in `kept` when they come (on the sending
        thread) and wake the loop, which settles them at its next round. A batch that
        raised stays claimed (`sending`) and is claimed again when its lease ends, as after
        a crash. `messages`: the provider messages it holds (`send_ahead` counts them)."""
        with self._calls_lock:
            self._in_flight[future] = messages

        def answered(done_future: Any) -> None:
            with self._calls_lock:
                self._in_flight.pop(done_future, None)
            try:
                done = done_future.result()
            except Exception:
                log.exception("%s failed; they will be tried again", what)
                if failed is not None:
                    failed()
                return
            with self._calls_lock:
                kept.extend(done)
            self.wake()

        future.add_done_callback(answered)

    def _settle_answers(self) -> int:
        """Settle every answer that came since the last round, in one write each for
        API calls and messages, before the round reads (it takes the stimuli they
        make). Answers whose write failed because the database was away go back, to
        be settled at a later round; any other failure drops them, as a crash would
        (their calls are claimed again when the lease ends): answers the write cannot
        take, kept, would fail every round after."""
        with self._calls_lock:  # emptied in place: `_keep_answers` holds the lists
            done, sent = self._answers[:], self._sent[:]
            self._answers.clear()
            self._sent.clear()
        failure: Exception | None = None
        for answers, kept, settle in (
            (done, self._answers, self._settle),
            (sent, self._sent, self._settle_sent),
        ):
            if not answers:
                continue
            try:
                settle(answers)
            except Exception as exc:
                if unavailable(exc):
                    with self._calls_lock:
                        kept[:0] = answers
                failure = failure or exc
        if failure is not None:
            raise failure
        return len(done) + len(sent)

    def _settle(self, done: list[Any]) -> None:
        settled_at = to_micros(self.clock.now())
        partitions = self.engine.partitions
        self._fenced(lambda conn: api_calls.settle(conn, settled_at, done, partitions=partitions))
        api_calls.count_failures(self.engine.figures, done)

    def _prune(self, before: int) -> int:
        """Trace rows past the retention go (looked for with a read first)."""
        with self.db.read() as conn:
            if not traces.has_older(conn, before):
                return 0
        return self._fenced(lambda conn: traces.prune(conn, before))

    def _fenced(self, fn: Callable[[Connection], T]) -> T:
        """A write that first passes the scope's fence (a lost lease writes nothing)."""
        scope = self.engine.scope

        def write(conn: Connection) -> T:
            scope.fence(conn)
            return fn(conn)

        return self.db.write(write)

    def next_due(self) -> datetime | None:
        with self.db.read() as conn:
            found = [
                store_due.next_due(conn),
                housekeeping.next_due(conn),
                store_sftp.next_poll(conn),
            ]
        values = [f for f in found if f is not None]
        return from_micros(min(values)) if values else None

    # --- the virtual clock ----------------------------------------------------------------

    async def drain(self, target: datetime) -> None:
        clock = self.clock
        assert isinstance(clock, VirtualClock)
        while True:
            await asyncio.to_thread(self.work_until_idle, clock.now())
            due = await asyncio.to_thread(self.next_due)
            if due is None or due > target:
                break
            if due <= clock.now():
                log.warning("work due at %s makes no progress; moving on", due)
                break
            clock.advance_to(max(due, clock.now()))
        clock.advance_to(target)
        await asyncio.to_thread(self.work_until_idle, target)

    # --- the real clock -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None and not self.clock.virtual:
            self._thread = threading.Thread(target=self._loop, name="tidings-engine", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._calls_lock:
            waiting = list(self._in_flight)
        for future in waiting:  # let answered calls settle before the store closes
            with contextlib.suppress(Exception):
                future.result(timeout=30)
        try:
            self._settle_answers()
        except Exception:
            log.exception("settling the last API answers failed; they will be tried again")
        if self._sftp_thread is not None:
            # a poll cut short is not recorded, so its file is imported again at the next
            # poll (its first parts' people then enter again as the flow's re-entry
            # settings allow); a stop waits a little for it, not for a silent server
            self._sftp_thread.join(timeout=10)
        self._caller.close()
        self._sender.close()

    def _poll_beside(self, poll: Callable[[], int]) -> None:
        """Real clock: SFTP polls in their own thread; the entries they queue wake the
        engine."""
        try:
            poll()
        except LeaseLost as lost:
            log.info("%s; the SFTP poll stopped", lost)
        except Exception:
            log.exception("an SFTP poll failed; it is tried again when due")
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.work_until_idle(self.clock.now())
            except LeaseLost as lost:
                log.info("%s; the batch was dropped", lost)
                done = 0
            except Exception as exc:
                wait = self._outage.failed(exc)
                if wait is None:
                    log.exception("engine batch failed; retrying")
                else:
                    self._stop.wait(wait)
                    continue
                done = 0
            else:
                self._outage.passed()
            if 0 < done < GATHER_BELOW:
                # A trickle of work: let a few milliseconds of it gather into one batch
                # instead of paying a batch's fixed cost for every event.
                time.sleep(GATHER_SECONDS)
                continue
            self._wake.wait(self.idle_seconds)
            self._wake.clear()
