"""The report worker: a thread of the serve process that builds the reports asked for
(`POST /reports`), one at a time, in the background, on either clock.

- **Claim** (`store.reports.claim_report`, in a write): the oldest pending report, or
  one whose worker's lease ran out (a process that stopped mid-way: a restart, or
  another serve process on PostgreSQL, takes it up again, its chunks written anew; the
  third time it fails). Leases are wall-clock time: a report is built in real time
  whatever the clock, so on the virtual clock it becomes ready by itself, shortly,
  without `/clock/advance`.
- **Build**: the type's source (services/report_sources.py) streams its rows from a
  read connection into the file writer (services/report_files.py), which hands the
  file a MiB at a time to the writer as `report_chunks` rows (each renews the lease;
  a long XLSX renews it as rows go by). Memory holds a MiB and a cursor's batch.
- **Finish**: `ready` with the row count and size, or `failed` with the reason (a
  domain error's message, e.g. a flow deleted meanwhile; otherwise the error's kind,
  the details in the log).

`POST /reports` wakes the worker; it also looks every `poll_seconds` (reports that
another process asked for, or left). The emails of the reports done (`mailer`,
services/report_emails.py) go out from a thread of their own, retried with backoff when
the provider says so: an email never holds a report back (an account's SMTP server that
does not answer waits out its timeout there, not in front of every account's reports),
nor fails one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any

from tidings.clock import Clock
from tidings.domain.durations import to_micros
from tidings.domain.errors import TidingsError
from tidings.services.report_emails import ReportMailer
from tidings.services.report_files import Cell, write_csv, write_xlsx
from tidings.services.report_sources import SHEETS, SOURCES, ReportRequest
from tidings.store import reports as store
from tidings.store.database import Database
from tidings.store.dialect import scan_cache
from tidings.store.outage import Outage

log = logging.getLogger("tidings.reports")
MICROS = 1_000_000
RENEW_EVERY_ROWS = 10_000  # rows between looks at the clock for the lease


def _wall() -> int:
    return int(time.time() * MICROS)


class ReportFailed(Exception):
    """A report that cannot be built, with the reason its reader sees."""


class Stopped(Exception):
    """The worker was stopped while building: the report goes back to pending."""


class ReportWorker:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        mailer: ReportMailer | None = None,
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = int(lease_seconds * MICROS)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._held = threading.Lock()
        self._thread: threading.Thread | None = None
        self._mail_wake = threading.Event()
        self._mail_thread: threading.Thread | None = None

    # --- the thread -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop,
                args=(self.work_once, self._wake, "worker"),
                name="tidings-reports",
                daemon=True,
            )
            self._thread.start()
        if self.mailer is not None and self._mail_thread is None:
            self._mail_thread = threading.Thread(
                target=self._loop,
                args=(self.mailer.work_once, self._mail_wake, "mailer"),
                name="tidings-report-mail",
                daemon=True,
            )
            self._mail_thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop after the report being built (a report cut short is claimed again)."""
        self._stop.set()
        self._wake.set()
        self._mail_wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        if self._mail_thread is not None:
            self._mail_thread.join(timeout=60)
            self._mail_thread = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No report is claimed inside (the one being built finishes first): what a
        pending report looks like, for a test or a maintenance pause."""
        with self._held:
            yield

    def _loop(self, work: Callable[[], bool], wake: threading.Event, what: str) -> None:
        """Call `work` until stopped; after a call that found nothing, wait for `wake` or
        `poll_seconds`."""
        outage = Outage(log, f"the report {what}")
        while not self._stop.is_set():
            try:
                worked = work()
            except Exception as exc:
                wait = outage.failed(exc)
                if wait is None:
                    log.exception("the report %s failed; trying again", what)
                else:
                    self._stop.wait(wait)
                    continue
                worked = False
            else:
                outage.passed()
            if not worked:
                wake.wait(self.poll_seconds)
                wake.clear()

    # --- the work -------------------------------------------------------------------------

    def work_once(self) -> bool:
        """Build one report due, if any (looked for with a read first); answers whether
        there was one."""
        with self._held:
            wall = _wall()
            with self.db.read() as conn:
                if not store.has_due(conn, wall):
                    return False
            now = to_micros(self.clock.now())
            claimed = self.db.write(
                lambda conn: store.claim_report(conn, wall, lease=self.lease, now=now)
            )
            if claimed is not None:
                self.build(claimed)
                self._mail_wake.set()  # its email, if it has one, is due now
            return True

    def build(self, claimed: store.Claimed) -> None:
        try:
            rows, size = self._write(claimed)
        except Stopped:
            self.db.write(lambda conn: store.release_report(conn, claimed.id))
            return
        except Exception as exc:
            if isinstance(exc, TidingsError | ReportFailed):
                reason = str(exc)
            else:
                log.exception("report %s could not be built", claimed.id)
                reason = f"the report could not be written ({type(exc).__name__})"
            now = to_micros(self.clock.now())
            self.db.write(lambda conn: store.fail_report(conn, claimed.id, reason, now=now))
            return
        now = to_micros(self.clock.now())
        self.db.write(
            lambda conn: store.finish_report(conn, claimed.id, rows=rows, size=size, now=now)
        )

    def _write(self, claimed: store.Claimed) -> tuple[int, int]:
        source = SOURCES.get(claimed.type)
        if source is None:
            raise ReportFailed(f"{claimed.type} reports are not available")
        request = ReportRequest.of(claimed.type, claimed.request)
        written = [0, 0]  # pieces, bytes
        pending: list[Future[Any]] = []

        def sink(data: bytes) -> None:
            # one piece in flight: the next is written while the last one commits
            for future in pending:
                future.result()
            pending.clear()
            seq, until = written[0], _wall() + self.lease
            pending.append(
                self.db.submit(
                    lambda conn: store.write_chunk(
                        conn, claimed.account_id, claimed.id, seq, data, until
                    )
                )
            )
            written[0] += 1
            written[1] += len(data)

        with self.db.read() as conn, scan_cache(conn):
            header, rows = source(conn, claimed.account_id, request)
            kept = self._keep_lease(claimed.id, rows)
            if claimed.format == "xlsx":
                count = write_xlsx(header, kept, sink, sheet=SHEETS.get(claimed.type, "Report"))
            else:
                count = write_csv(header, kept, sink)
        for future in pending:
            future.result()
        return count, written[1]

    def _keep_lease(
        self, report_id: int, rows: Iterator[Sequence[Cell]]
    ) -> Iterator[Sequence[Cell]]:
        """The rows, renewing the lease while they go by (an XLSX writes no piece until
        its rows are all written), and stopping early when the worker is stopped (the
        report is then pending again, for the next start)."""
        renewed = time.monotonic()
        every = self.lease / MICROS / 4
        for n, row in enumerate(rows, 1):
            yield row
            if n % RENEW_EVERY_ROWS == 0:
                if self._stop.is_set():
                    raise Stopped
                if time.monotonic() - renewed > every:
                    renewed = time.monotonic()
                    self.db.write(
                        functools.partial(
                            store.renew_lease, report_id=report_id, lease_until=_wall() + self.lease
                        )
                    )
