"""`/health` and the virtual clock (`/clock`, `/clock/advance`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, Strict
from tidings.clock import VirtualClock
from tidings.domain.durations import format_instant, parse_duration, parse_instant
from tidings.domain.errors import Conflict, InvalidInput, Problem

router = APIRouter(tags=["system"], responses=ERRORS)


@router.get("/health")
def health(ctx: AppContext = Depends(context)) -> dict[str, Any]:
    with ctx.db.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    return {
        "status": "ok",
        "database": ctx.db.dialect,
        "clock": "virtual" if ctx.clock.virtual else "real",
    }


class ClockAdvance(Strict):
    by: str | None = Field(None, description="An ISO 8601 duration, e.g. P1D; PT0S drains work")
    to: str | None = Field(None, description="An ISO 8601 instant with offset")


def _virtual(ctx: AppContext) -> VirtualClock:
    if not isinstance(ctx.clock, VirtualClock):
        raise Conflict("the server runs on the real clock; start it with --clock virtual")
    return ctx.clock


@router.get("/clock")
def read_clock(
    _who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    return {"now": format_instant(ctx.clock.now()), "virtual": ctx.clock.virtual}


@router.post("/clock/advance")
async def advance_clock(
    body: ClockAdvance, _who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """Move the virtual clock and answer once all work due up to the new instant is done."""
    clock = _virtual(ctx)
    if (body.by is None) == (body.to is None):
        raise InvalidInput([Problem("by", "give exactly one of 'by' and 'to'")])
    target: datetime
    try:
        if body.by is not None:
            target = clock.now() + parse_duration(body.by)
        else:
            assert body.to is not None
            target = parse_instant(body.to)
    except ValueError as exc:
        raise InvalidInput([Problem("by" if body.by is not None else "to", str(exc))]) from None
    if target < clock.now():
        raise InvalidInput([Problem("to", "the virtual clock never moves backwards")])
    await ctx.advance_clock(target)
    return {"now": format_instant(clock.now()), "virtual": True}
