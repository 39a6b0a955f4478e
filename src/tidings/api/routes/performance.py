"""`/flows/{id}/performance`: the flow's and each element's figures (`analytics/`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from tidings.analytics.performance import flow_performance as report
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, id_path

router = APIRouter(tags=["journeys"], responses=ERRORS)
FlowId = id_path("flow")


@router.get("/flows/{flow_id}/performance", summary="Flow and element metrics")
def flow_performance(
    flow_id: int = FlowId,
    version: str = Query("all", pattern=r"^(all|[1-9][0-9]{0,5})$", description="all or N"),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return report(conn, who.account_id, flow_id, None if version == "all" else int(version))
