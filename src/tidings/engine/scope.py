"""Which partitions this engine works on, and the fence its writes pass.

Embedded, one engine holds every partition (`Everything`). Scaled out on PostgreSQL,
`tidings worker` processes lease partitions; a lease-holding scope answers `owned()` with
its partitions, raises from `fence()` inside a write once its epoch has moved on (so the
batch rolls back and nothing of it lands), and `leads()` for exactly one worker, which does
the account-wide housekeeping (schedules, audiences, canceled versions).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection


class LeaseLost(RuntimeError):
    """The partition lease moved to another worker: this batch must not be written."""


class Scope(Protocol):
    def owned(self) -> frozenset[int] | None:
        """The partitions to work on; None means all of them."""
        ...

    def fence(self, conn: Connection) -> None:
        """Called first inside every engine write; raises LeaseLost when fenced off."""
        ...

    def leads(self) -> bool:
        """Whether this engine does the housekeeping shared by all partitions."""
        ...

    def checkpoint(self) -> None:
        """Called by the runner between batches, when no batch read is waiting for its
        write: partitions the scope stopped offering need no fencing any more."""
        ...


class Everything:
    """The embedded engine: every partition, no fence, always the leader."""

    def owned(self) -> frozenset[int] | None:
        return None

    def fence(self, conn: Connection) -> None:
        return None

    def leads(self) -> bool:
        return True

    def checkpoint(self) -> None:
        return None
