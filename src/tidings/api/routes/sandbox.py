"""`/sandbox/settings` and `/sandbox/messages`: how the sandbox provider answers, and
what it sent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, MAX_ID, Strict
from tidings.services import sandbox as service
from tidings.store import sandbox as sent

router = APIRouter(tags=["journeys"], responses=ERRORS)


class SandboxSettingsIn(Strict):
    delivered: float | None = Field(None, ge=0, le=1, description="Share delivered, 0 to 1")
    seen: float | None = Field(None, ge=0, le=1, description="Share of delivered ones seen")
    clicked: float | None = Field(None, ge=0, le=1, description="Share of seen ones clicked")
    delay: str | None = Field(None, max_length=32, description="After how long (ISO 8601)")


@router.get("/sandbox/settings", summary="How the sandbox provider answers")
def read_sandbox_settings(
    who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return service.read_settings(conn, who.account_id)


@router.patch("/sandbox/settings", summary="Change how the sandbox provider answers")
def update_sandbox_settings(
    body: SandboxSettingsIn, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    service.check_settings(changes)
    return ctx.db.write(lambda conn: service.change_settings(conn, who.account_id, changes))


@router.get("/sandbox/messages", summary="What the sandbox provider sent")
def sandbox_messages(
    flow: int | None = Query(None, ge=1, le=MAX_ID),
    person: int | None = Query(None, ge=1, le=MAX_ID),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = sent.list_messages(
            conn, who.account_id, flow=flow, person=person, limit=page.limit, offset=page.offset
        )
    return page_of(rows, page)
