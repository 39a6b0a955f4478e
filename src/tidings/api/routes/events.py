"""`POST /events` (the ingest hot path) and `GET /people/{id}/events`.

Ingest parses the body once with orjson, checks each item on its own (a bad item is
refused with its reason and never drops the good ones), then hands all accepted items to
the group-committing writer in one function: unknown people are created, events appended
with one `executemany`, the idempotency answer remembered, all in one transaction. The
answer goes out only after that commit.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator
from sqlalchemy import Connection, select

from tidings.api import openapi
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.errors import validation_details
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.responses import JSONResponse
from tidings.api.schemas import ERRORS, Strict
from tidings.domain.durations import parse_instant, to_micros
from tidings.domain.errors import InvalidInput, MalformedRequest, Problem, ProblemList
from tidings.domain.events import check_properties
from tidings.store import idempotency
from tidings.store.events import encode_properties, insert_events, list_person_events
from tidings.store.person_refs import ensure_people
from tidings.store.tables import people

router = APIRouter(tags=["events"], responses=ERRORS)
MAX_ITEMS = 1000


class PersonRef(Strict):
    externalId: str | None = Field(None, min_length=1, max_length=255)
    id: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        if (self.externalId is None) == (self.id is None):
            raise ValueError("give exactly one of externalId and id")
        return self


class EventIn(Strict):
    person: PersonRef
    name: str = Field(min_length=1, max_length=128, description="A defined event name")
    properties: dict[str, Any] = Field(default_factory=dict)
    time: str | None = Field(None, description="When it happened (ISO 8601); default: now")


class ItemAnswer(BaseModel):
    status: str
    error: dict[str, Any] | None = None


class ItemsAnswer(BaseModel):
    items: list[ItemAnswer]


_event = TypeAdapter(EventIn)
BODY_SCHEMA = openapi.one_or_many(openapi.register("EventIn", _event), MAX_ITEMS)


def refused(problems: list[Problem]) -> dict[str, Any]:
    error = InvalidInput(problems)
    return {
        "status": "refused",
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }


def parse_items(body: bytes, what: str) -> tuple[list[Any], bool]:
    """The items of a one-or-many body, and whether it was a single object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the request body is not valid JSON") from None
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise InvalidInput([Problem("body", f"must be {what} or a list of them")])
    if not data:
        raise InvalidInput([Problem("body", "the list is empty")])
    if len(data) > MAX_ITEMS:
        raise InvalidInput([Problem("body", f"at most {MAX_ITEMS} items per request")])
    return data, False


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
    items, single = parse_items(await request.body(), "an event")
    types = ctx.event_types(who.account_id)
    now = ctx.now_micros()
    answers: list[dict[str, Any] | None] = [None] * len(items)
    accepted: list[tuple[int, PersonRef, str, str, int]] = []
    for index, item in enumerate(items):
        try:
            event = _event.validate_python(item)
        except ValidationError as exc:
            answers[index] = refused(
                [Problem(d["field"], d["message"]) for d in validation_details(exc.errors())]
            )
            continue
        problems = ProblemList()
        definition = types.get(event.name)
        properties: dict[str, Any] = {}
        if definition is None:
            problems.add("name", f"unknown event {event.name!r}: define it first")
        else:
            properties = check_properties(event.properties, definition, problems, "")
        when = now
        if event.time is not None:
            try:
                when = to_micros(parse_instant(event.time))
            except ValueError as exc:
                problems.add("time", str(exc))
        if problems:
            answers[index] = refused(problems.items)
            continue
        accepted.append((index, event.person, event.name, encode_properties(properties), when))

    if single and answers[0] is not None:
        raise InvalidInput(
            [Problem(d["field"], d["message"]) for d in answers[0]["error"]["details"]]
        )
    account = who.account_id

    def write(conn: Connection) -> tuple[int, Any]:
        if idempotency_key is not None:
            remembered = idempotency.recall(conn, account, "events", idempotency_key, now)
            if remembered is not None:
                return remembered
        by_external, _created = ensure_people(
            conn, account, [ref.externalId for _, ref, *_ in accepted if ref.externalId], now
        )
        wanted_ids = {ref.id for _, ref, *_ in accepted if ref.id is not None}
        known_ids = _existing_ids(conn, account, wanted_ids) if wanted_ids else set()
        rows = []
        for index, ref, name, properties, when in accepted:
            person_id = by_external[ref.externalId] if ref.externalId else ref.id
            if person_id is None or (ref.id is not None and ref.id not in known_ids):
                answers[index] = refused([Problem("person.id", f"person {ref.id} does not exist")])
                continue
            rows.append((account, person_id, name, properties, when, now))
            answers[index] = {"status": "accepted"}
        insert_events(conn, rows)
        body = {"items": answers}
        if idempotency_key is not None:
            idempotency.remember(conn, account, "events", idempotency_key, 202, body, now)
        return 202, body

    status, body = await ctx.db.write_async(write)
    if single and body["items"][0]["status"] == "refused":
        details = body["items"][0]["error"]["details"]
        raise InvalidInput([Problem(d["field"], d["message"]) for d in details])
    return JSONResponse(body, status_code=status)


def _existing_ids(conn: Connection, account_id: int, ids: set[int]) -> set[int]:
    return {
        row.id
        for row in conn.execute(
            select(people.c.id).where(people.c.account_id == account_id, people.c.id.in_(ids))
        )
    }


@router.get("/people/{person_id}/events", summary="A person's events, newest first")
def person_events(
    person_id: int,
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
