"""A background loop's view of the database going away (a restart, a failover, a
maintenance window): one warning when it goes, one when it is back, and a wait that
grows between tries, instead of a traceback at every try.

    outage = Outage(log, "the engine")
    while running:
        try:
            work()
        except Exception as exc:
            wait = outage.failed(exc)      # logs; None: not the database (a bug)
            ...
        else:
            outage.passed()
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError

FIRST_WAIT = 0.1  # seconds before the first try again
LONGEST_WAIT = 2.0  # the wait doubles up to this


class Outage:
    """Whether one loop's database is away, and how long it waits before trying again."""

    def __init__(self, log: logging.Logger, who: str) -> None:
        self._log = log
        self._who = who
        self.since_failures = 0  # failed tries since the database went away
        self.wait = 0.0

    @property
    def down(self) -> bool:
        return self.since_failures > 0

    def failed(self, exc: BaseException) -> float | None:
        """A try failed with `exc`: when the database cannot be reached, say so once
        and answer how long to wait before the next try; otherwise None (the caller
        logs the error as the bug it is)."""
        if not unavailable(exc):
            return None
        if not self.down:
            self._log.warning(
                "%s: the database is unavailable (%s); trying again until it is back",
                self._who,
                reason(exc),
            )
        self.since_failures += 1
        self.wait = min(LONGEST_WAIT, self.wait * 2 if self.wait else FIRST_WAIT)
        return self.wait

    def passed(self) -> None:
        """A try reached the database."""
        if self.down:
            self._log.warning(
                "%s: the database is back (after %d failed tries)", self._who, self.since_failures
            )
        self.since_failures = 0
        self.wait = 0.0


def reason(exc: BaseException) -> str:
    """The driver's own words (its first lines), without SQLAlchemy's wrapping."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return " ".join(lines[:2]) or type(orig).__name__


# SQLite's words for a file it cannot use now (its other OperationalErrors are SQL the
# code got wrong: a bug, not an outage)
SQLITE_AWAY = ("unable to open database file", "database is locked", "disk i/o error")
# PostgreSQL's SQLSTATE classes and codes for a server that is not there for us:
# connection exceptions, an administrator's or a crash's shutdown, too many clients
POSTGRES_AWAY = ("08", "57P", "53300")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or dropped the connection
    (a restart, a failover, a file SQLite cannot open now): the request may be retried;
    it is not a bug. A wrong statement is a bug, also where the driver calls it an
    OperationalError (SQLite's "no such column")."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        return any(words in str(orig).lower() for words in SQLITE_AWAY)
    state = getattr(orig, "sqlstate", None)
    # psycopg's failure to connect at all carries no SQLSTATE
    return state is None or str(state).startswith(POSTGRES_AWAY)
