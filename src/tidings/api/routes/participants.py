"""`POST /flows/{id}/participants`: the Flow API entry, and the engine's views of a flow:
`/flows/{id}/performance`, `/flows/{id}/audience`; plus `/sandbox/messages|settings`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import Field, model_validator
from sqlalchemy import Connection

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.responses import JSONResponse
from tidings.api.routes.people import PersonCreate
from tidings.api.schemas import ERRORS, MAX_ID, Strict, id_path
from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.sandbox import SandboxSettings
from tidings.services.participants import enter_through_api
from tidings.store import flows as flow_store
from tidings.store import sandbox
from tidings.store.performance import performance

router = APIRouter(tags=["journeys"], responses=ERRORS)
FlowId = id_path("flow")


class ParticipantIn(Strict):
    person: PersonCreate = Field(description="Who enters: an externalId, and any profile fields")
    variables: dict[str, Any] = Field(default_factory=dict, description="The flow's variables")

    @model_validator(mode="after")
    def _named(self) -> ParticipantIn:
        if self.person.externalId is None:
            raise ValueError("person.externalId is required")
        return self


@router.post("/flows/{flow_id}/participants", status_code=202, summary="Add a person (Flow API)")
async def add_participant(
    body: ParticipantIn,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> JSONResponse:
    now = ctx.now_micros()
    account = who.account_id
    given = body.person.model_dump(exclude_unset=True)

    def write(conn: Connection) -> tuple[int, Any]:
        return enter_through_api(
            conn,
            account,
            flow_id,
            person=given,
            external_id=body.person.externalId,
            variables=body.variables,
            idempotency_key=idempotency_key,
            now=now,
            partitions=ctx.partitions,
        )

    status, answer = await ctx.db.write_async(write)
    if ctx.wake is not None:
        ctx.wake()
    return JSONResponse(answer, status_code=status)


@router.get("/flows/{flow_id}/performance", summary="Flow and element metrics")
def flow_performance(
    flow_id: int = FlowId,
    version: str = Query("all", pattern=r"^(all|[1-9][0-9]{0,5})$", description="all or N"),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        flow_store.read_flow(conn, who.account_id, flow_id)
        number = None if version == "all" else int(version)
        if number is not None:
            flow_store.read_version(conn, who.account_id, flow_id, number)
        return performance(conn, who.account_id, flow_id, number)


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
        return sandbox.read_settings(conn, who.account_id).as_dict()


@router.patch("/sandbox/settings", summary="Change how the sandbox provider answers")
def update_sandbox_settings(
    body: SandboxSettingsIn, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    from tidings.domain.durations import parse_duration

    if body.delay is not None:
        try:
            parse_duration(body.delay)
        except ValueError as exc:
            raise InvalidInput([Problem("delay", str(exc))]) from None

    def write(conn: Connection) -> dict[str, Any]:
        current = sandbox.read_settings(conn, who.account_id).as_dict()
        current.update(body.model_dump(exclude_none=True))
        settings = SandboxSettings(**current)
        sandbox.write_settings(conn, who.account_id, settings)
        return settings.as_dict()

    return ctx.db.write(write)


@router.get("/sandbox/messages", summary="What the sandbox provider sent")
def sandbox_messages(
    flow: int | None = Query(None, ge=1, le=MAX_ID),
    person: int | None = Query(None, ge=1, le=MAX_ID),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = sandbox.list_messages(
            conn, who.account_id, flow=flow, person=person, limit=page.limit, offset=page.offset
        )
    return page_of(rows, page)
