"""Set-based timers: people whose timer has come at an element where it moves everyone
alike (a `wait` of a fixed duration). Order is kept: timers are moved only when they
come before every due stimulus of the inbox (a person's event that came first is seen
first). A participation with element-local state (a goal reached, a held answer, a
chain of add_to_flow hops) or of a version that does not run is left to the general
path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.journey.uniform import uniform_move
from tidings.engine.bulk.context import Context
from tidings.engine.bulk.moves import Cohort, apply
from tidings.engine.failures import blame
from tidings.store.inbox import first_due
from tidings.store.timers import due_at_element, due_elements


def wake_timers(ctx: Context, now: datetime, limit: int) -> int:
    """Move up to `limit` people whose timer has come at elements where it moves everyone
    alike; answer how many moved (0 leaves everything to the general path). The elements
    are those of the next `ctx.batch_size` due timers."""
    at = to_micros(now)
    owned, partitions = ctx.scope.owned(), ctx.partitions
    with ctx.db.read() as conn:
        ctx.programs.refresh(conn)
        head = first_due(conn, at, owned)
        cut = at if head is None else min(at, head - 1)
        starts = due_elements(conn, cut, ctx.batch_size, owned, partitions=partitions)
    cohorts = []
    for flow_id, version, element in starts:
        compiled = ctx.programs.by_version.get((flow_id, version))
        if compiled is None or not compiled.runs or element is None:
            continue
        with blame(flow_id, version, element):
            move = uniform_move(compiled.program, element, "timer", now)
        if move is not None:
            cohorts.append(Cohort(compiled, move))
    if not cohorts:
        return 0

    def write(conn: Connection) -> int:
        ctx.scope.fence(conn)
        left = limit
        for cohort in cohorts:
            c = cohort.compiled
            where = (c.flow_id, c.version, cohort.move.start)
            ids = due_at_element(conn, cut, where, left, owned, partitions=partitions)
            with blame(c.flow_id, c.version, cohort.move.start):
                apply(conn, cohort, ids, at)
            left -= len(ids)
            if left <= 0:
                break
        return limit - left

    return int(ctx.db.write(write))
