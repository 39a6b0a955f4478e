"""`GET /cluster` (admin keys): the engines alive, the partitions each holds, and the
oldest due work per partition.

On PostgreSQL with the real clock engines lease partitions (`tidings worker`, and
serve's own): the answer lists every engine with a recent heartbeat or an unexpired
lease. Otherwise (SQLite, or the virtual clock) one embedded engine holds them all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from tidings.api.auth import Caller, admin
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS
from tidings.domain.durations import format_micros
from tidings.domain.errors import Forbidden
from tidings.store import accounts
from tidings.store.backlog import leasing_engines, oldest_due_by_partition

router = APIRouter(tags=["system"], responses=ERRORS)
MICROS = 1_000_000


def _instant(value: int | None) -> str | None:
    return None if value is None else format_micros(value)


@router.get("/cluster", summary="The engines alive and the oldest due work per partition")
def read_cluster(who: Caller = Depends(admin), ctx: AppContext = Depends(context)) -> Any:
    # The engines' partitions and the oldest due work span every account: only the
    # operator (an admin key of the default account) sees them, as for POST /accounts.
    if who.account_id != accounts.DEFAULT_ACCOUNT_ID:
        raise Forbidden("only an admin key of the default account may read the cluster")
    now = ctx.now_micros()
    partitions = ctx.partitions
    with ctx.db.read() as conn:
        if ctx.lease_seconds is None:
            engines: list[dict[str, Any]] = [
                {
                    "owner": "embedded",
                    "partitions": list(range(partitions)),
                    "leaseExpiresAt": None,
                    "startedAt": None,
                    "heartbeatAt": None,
                }
            ]
        else:
            engines = [
                {
                    "owner": e.owner,
                    "partitions": e.partitions,
                    "leaseExpiresAt": _instant(e.lease_expires_at),
                    "startedAt": _instant(e.started_at),
                    "heartbeatAt": _instant(e.heartbeat_at),
                }
                for e in leasing_engines(conn, now, lease=int(ctx.lease_seconds * MICROS))
            ]
        oldest = oldest_due_by_partition(conn, now, partitions=partitions)
    return {
        "now": format_micros(now),
        "partitions": partitions,
        "leased": ctx.lease_seconds is not None,
        "engines": engines,
        "oldestDue": [
            {
                "partition": partition,
                "dueAt": format_micros(due),
                "waitingSeconds": round(max(now - due, 0) / MICROS, 6),
            }
            for partition, due in oldest.by_partition.items()
        ],
        "oldestDueComplete": oldest.complete,
    }
