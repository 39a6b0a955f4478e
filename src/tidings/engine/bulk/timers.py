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
from tidings.store.dialect import dialect_of, param
from tidings.store.raw import fetch, partition_sql, person_partition_sql
from tidings.store.tables import WAITING


def wake_timers(ctx: Context, now: datetime, limit: int) -> int:
    """Move up to `limit` people whose timer has come at elements where it moves everyone
    alike; answer how many moved (0 leaves everything to the general path). The elements
    are those of the next `ctx.batch_size` due timers."""
    at = to_micros(now)
    owned = ctx.scope.owned()
    where = partition_sql(owned)
    mine = person_partition_sql(owned, ctx.partitions)  # participations
    with ctx.db.read() as conn:
        ctx.programs.refresh(conn)
        p = param(dialect_of(conn.engine.url.drivername))
        head = fetch(
            conn,
            f"SELECT due_at FROM inbox WHERE due_at <= {p}{where} ORDER BY due_at, id LIMIT 1",
            (at,),
        )
        cut = at if not head else min(at, int(head[0][0]) - 1)
        starts = fetch(
            conn,
            "SELECT DISTINCT flow_id, version, element FROM (SELECT flow_id, version, element "
            f"FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
            f"AND wake_at <= {p}{mine} ORDER BY wake_at LIMIT {int(ctx.batch_size)}) AS head",
            (cut,),
        )
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
            # `+flow_id` keeps SQLite on the due index: by the flow it picked the history
            # index and sorted every waiting row of the flow (a scan of 1M per batch).
            rows = fetch(
                conn,
                f"SELECT id FROM participations WHERE phase = {WAITING} AND wake_at IS NOT NULL "
                f"AND wake_at <= {p} AND +flow_id = {p} AND version = {p} AND element = {p} "
                f"AND local IS NULL{mine} ORDER BY wake_at LIMIT {int(left)}",
                (cut, c.flow_id, c.version, cohort.move.start),
            )
            with blame(c.flow_id, c.version, cohort.move.start):
                apply(conn, cohort, [r[0] for r in rows], at)
            left -= len(rows)
            if left <= 0:
                break
        return limit - left

    return int(ctx.db.write(write))
