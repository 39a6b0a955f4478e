"""What the set-based paths (uniform.py, entries.py, bulk.py) may use of the engine: a
narrow, typed context instead of the `Engine` itself. `Engine` is one; the paths import
this module and never engine.py, so the engine's modules import one another one way.
"""

from __future__ import annotations

from typing import Protocol

from tidings.engine.figures import EngineFigures
from tidings.engine.in_flight import InFlight
from tidings.engine.programs import Programs
from tidings.engine.scope import Scope
from tidings.store.database import Database


class Bulk(Protocol):
    db: Database
    scope: Scope
    programs: Programs
    partitions: int
    batch_size: int
    sql_sends: bool  # the store composes the SMS it can (sql_sends.py)
    composed_by_store: int  # messages it composed, since start
    figures: EngineFigures
    in_flight: InFlight  # event entries not committed yet (entries.py)

    def quiet(self, account_id: int, name: str) -> bool:
        """Whether no flow enters on the event `name` or counts it as its goal."""
        ...

    def forget_ids(self) -> None:
        """Participations were numbered by the store: read the next free id again."""
        ...
