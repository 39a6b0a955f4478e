"""`POST /events` (the ingest hot path) and `GET /people/{id}/events`.

Each item is checked on its own (a bad item is refused with its reason and never drops
the good ones); the accepted ones of many concurrent requests are stored together by the
event batcher (`services/ingest.py`). The answer goes out only after that commit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel

from tidings.api import ingest, openapi
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.responses import JSONResponse
from tidings.api.schemas import ERRORS, id_path
from tidings.domain.errors import InvalidInput, Problem
from tidings.services.ingest import check_events
from tidings.store.events import list_person_events

router = APIRouter(tags=["events"], responses=ERRORS)


class ItemAnswer(BaseModel):
    status: str
    error: dict[str, Any] | None = None


class ItemsAnswer(BaseModel):
    items: list[ItemAnswer]


BODY_SCHEMA = openapi.one_or_many(
    openapi.register("EventIn", ingest.event_adapter), ingest.MAX_ITEMS
)


async def accept_events(
    ctx: AppContext, account_id: int, body: bytes, idempotency_key: str | None
) -> JSONResponse:
    """The whole of `POST /events` after authentication (also used by the fast path)."""
    items, single = ingest.parse_items(body, "an event")
    job = check_events(
        items,
        ctx.event_types(account_id),
        parse=ingest.parse_event,
        account_id=account_id,
        idempotency_key=idempotency_key,
        now=ctx.now_micros(),
    )
    if single and job.answers[0] is not None:
        raise _as_error(job.answers[0])
    status, answer = await ctx.event_batcher.submit(job)
    wants = ctx.wants_event
    if ctx.wake is not None and (
        wants is None or any(wants(account_id, name) for _, _, name, _, _ in job.accepted)
    ):
        ctx.wake()  # only when the engine has something to do with these events
    if single and status == 202 and answer["items"][0]["status"] == "refused":
        raise _as_error(answer["items"][0])
    return JSONResponse(answer, status_code=status)


def _as_error(item: dict[str, Any]) -> InvalidInput:
    return InvalidInput([Problem(d["field"], d["message"]) for d in item["error"]["details"]])


@router.post(
    "/events",
    status_code=202,
    response_model=ItemsAnswer,
    openapi_extra=BODY_SCHEMA,
    summary="Send one event or a list of up to 1,000",
)
async def post_events(
    request: Request,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> JSONResponse:
    return await accept_events(ctx, who.account_id, await request.body(), idempotency_key)


@router.get("/people/{person_id}/events", summary="A person's events, newest first")
def person_events(
    person_id: int = id_path("person"),
    name: str | None = Query(None, max_length=128, description="Only events of this name"),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = list_person_events(
            conn, who.account_id, person_id, name=name, limit=page.limit, offset=page.offset
        )
    return page_of(rows, page)
