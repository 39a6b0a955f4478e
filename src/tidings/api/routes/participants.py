"""`POST /flows/{id}/participants`: the Flow API entry (a person enters an active flow
whose entry is `api`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header
from pydantic import Field, model_validator
from sqlalchemy import Connection

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.responses import JSONResponse
from tidings.api.routes.people import PersonCreate
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.services.participants import enter_through_api

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
