"""`/flows/{id}/performance`: the flow's and each element's figures (`analytics/`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from tidings.analytics.performance import SeriesRange
from tidings.analytics.performance import flow_performance as report
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, id_path
from tidings.domain.errors import InvalidInput, Problem

router = APIRouter(tags=["journeys"], responses=ERRORS)
FlowId = id_path("flow")


@router.get("/flows/{flow_id}/performance", summary="Flow, element and channel metrics")
def flow_performance(
    flow_id: int = FlowId,
    version: str = Query("all", pattern=r"^(all|[1-9][0-9]{0,5})$", description="all or N"),
    by: Literal["hour", "day"] | None = Query(
        None, description="With it, `series`: the flow figures by hour or day (flow's zone)."
    ),
    start: str | None = Query(
        None,
        alias="from",
        max_length=40,
        description="The series' start: an instant, or a date (its start in the flow's zone).",
    ),
    end: str | None = Query(
        None, alias="to", max_length=40, description="The series' end (excluded); default now."
    ),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    if by is None and (start or end):
        raise InvalidInput([Problem("by", "`from` and `to` bound a series: say `by` (hour, day)")])
    over = None if by is None else SeriesRange(by, start, end, ctx.clock.now())
    with ctx.db.read() as conn:
        chosen = None if version == "all" else int(version)
        return report(conn, who.account_id, flow_id, chosen, over)
