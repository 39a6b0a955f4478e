"""A cohort's move, written for all its people (`domain/journey/uniform.py`).

Everyone of one version at one element whom a stimulus moves alike makes one move: the
step function runs once, for nobody, and its outcome is written for all of them with a
few statements per 2,000 people (participations updated, trace rows and unique visits
inserted from the rows themselves, counters added once). What each person would have
got from a step of their own is what they get here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tidings.domain.journey import Phase
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import UniformMove
from tidings.engine.bulk.context import Context
from tidings.engine.dispatch import hand_over
from tidings.engine.programs import Compiled, apply_moved
from tidings.store import mep, traces
from tidings.store.counts import PEOPLE_ONCE, add_counters, add_visits_of, mark_active
from tidings.store.participations import Row, set_entry_detail, set_moved

CHUNK = 2000  # people a statement of a path takes
STEPS_CHUNK = 2000  # participations a trace row's copy lists


@dataclass(frozen=True)
class Cohort:
    """Everyone of one version at one element, and the move they all make."""

    compiled: Compiled
    move: UniformMove


def apply(conn: Connection, cohort: Cohort, ids: Sequence[int], at: int) -> None:
    """Write `cohort`'s move for the participations `ids`, as a step each would have."""
    if not ids:
        return
    set_moved(conn, ids, move_state(cohort.compiled.program, cohort.move, at))
    record(conn, cohort, ids, at)


def move_state(program: Program, move: UniformMove, at: int) -> tuple[Any, ...]:
    """What `move` at `at` sets on each of its participations, as stored
    (`participations.MOVE_COLUMNS`), encoded as a step's would be (programs.apply_moved,
    Row.moved_values)."""
    running = Phase.running.value
    row = Row(0, 0, 0, 0, 0, running, None, {}, None, {}, [], None, None, None, at, None, None)
    apply_moved(row, program, move, at)
    return row.moved_values()


def entry_detail(conn: Connection, cohort: Cohort, at: int) -> int | None:
    """For an entry cohort (`move.start` None): the shared trace detail of its lines at
    `at`, for the participations' `entry_detail` column (store/traces.py); insert them
    with it and pass it to `record`, and they need no trace row. None: no lines."""
    lines = _lines(cohort.move)
    if not lines:
        return None
    return traces.entry_detail(conn, cohort.compiled.account_id, cohort.move.element, lines, at)


def _lines(move: UniformMove) -> list[list[str | None]]:
    return [[e, what] if why is None else [e, what, why] for e, what, why in move.lines]


def record(
    conn: Connection,
    cohort: Cohort,
    ids: Sequence[int],
    at: int,
    *,
    entry_detail: int | None = None,
) -> None:
    """What the move counts and traces: trace lines, unique visits, counters, activity.

    An entry's lines (`move.start` None; the participations `ids` entered at `at`) are
    not trace rows but the participations' `entry_detail`: give the id they were inserted
    with (`entry_detail(conn, cohort, at)`); without it, it is set on them here (an
    update of each row). Any other move's lines are a trace row each."""
    if not ids:
        return
    move, c = cohort.move, cohort.compiled
    lines = _lines(move)
    entry = move.start is None
    if entry and lines and entry_detail is None:
        set_entry_detail(
            conn, ids, traces.entry_detail(conn, c.account_id, move.element, lines, at)
        )
    if lines and not entry:
        for start in range(0, len(ids), STEPS_CHUNK):
            listed = ", ".join(str(int(i)) for i in ids[start : start + STEPS_CHUNK])
            traces.copy_steps(conn, listed, move.element, lines, at)
    # people counted once: a first engagement or goal (store/counts.py)
    once = {f"#{n.name}" for n in move.counts if n.element is None and n.name in PEOPLE_ONCE}
    add_visits_of(
        conn, (c.account_id, c.flow_id, c.version), ids, sorted(set(move.visited) | once), at
    )
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    if entry:  # the set-based paths enter only people never in the flow: first entries
        for version in (c.version, 0):
            counters[(c.account_id, c.flow_id, version, "", "people.profilesInFlow")] += len(ids)
    for count in move.counts:
        key = (c.account_id, c.flow_id, c.version, count.element or "", count.name)
        counters[key] += count.by * len(ids)
    if counters:
        add_counters(conn, counters, at)
    mep.add_entered(conn, c.account_id, c.flow_id, ids if entry else (), at)  # MEP
    mark_active(conn, [c.flow_id], at)


def hand_over_entered(
    ctx: Context, conn: Connection, outbox: list[dict[str, Any]], at: int
) -> None:
    """Hand over the messages of people this write entered (their rows in `people` were
    just read by the insert), after their participations: a report goes to whoever now
    waits for it."""
    hand_over(
        conn,
        outbox,
        at,
        partitions=ctx.partitions,
        quiet=ctx.programs.quiet,
        people_exist=True,
        figures=ctx.figures,
        routes=ctx.programs.routes,
        links=ctx.links,
    )
