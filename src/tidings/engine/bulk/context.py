"""What the set-based paths may use of the engine: a narrow, typed context, built by
`Engine` for each round (so it sees the engine's settings as they are then), instead of
the `Engine` itself. The paths never import engine.py: the engine's modules import one
another one way (import-linter's `acyclic_siblings` contract).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tidings.engine.bulk.in_flight import InFlight
from tidings.engine.figures import EngineFigures
from tidings.engine.programs import Programs
from tidings.engine.scope import Scope
from tidings.engine.sending import Links
from tidings.store.database import Database


@dataclass
class Tally:
    """What the set-based paths count for the engine, since it started."""

    composed_by_store: int = 0  # messages the store composed (sql_sends.py)


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    scope: Scope
    programs: Programs
    partitions: int
    batch_size: int  # the general path's batch: timers' cohorts are looked for in one
    sql_sends: bool  # the store composes the SMS it can (sql_sends.py)
    figures: EngineFigures
    in_flight: InFlight  # event entries not committed yet (event_entries.py)
    tally: Tally
    forget_ids: Callable[[], None]  # participations were numbered by the store
    links: Links | None = None  # tracking and unsubscribe links (engine/sending.py)
