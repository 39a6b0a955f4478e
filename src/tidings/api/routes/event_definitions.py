"""`/event-definitions`: the canonical CRUD resource (see api/AGENTS.md).

The shape every resource follows: `XCreate`/`XUpdate` request schemas, store functions
`create_x/read_x/list_x/update_x/delete_x` taking `(conn, account_id, ...)`, writes through
`ctx.db.write`, reads through `ctx.db.read`, domain checks raising `InvalidInput`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict
from tidings.domain.errors import ProblemList
from tidings.domain.events import check_definition, check_event_name
from tidings.store import definitions as store

router = APIRouter(prefix="/event-definitions", tags=["events"], responses=ERRORS)
Name = Path(max_length=128, description="The event name")


class EventDefinitionCreate(Strict):
    name: str = Field(max_length=128, description="Event name, e.g. CartAbandoned")
    properties: dict[str, str] = Field(
        default_factory=dict, description="Property name to type (text, decimal, integer, ...)"
    )
    description: str | None = Field(None, max_length=1000)


class EventDefinitionUpdate(Strict):
    properties: dict[str, str] | None = Field(None, description="Properties to add")
    description: str | None = Field(None, max_length=1000)


@router.post("", status_code=201)
def create_event_definition(
    body: EventDefinitionCreate,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    try:
        check_event_name(body.name)
    except ValueError as exc:
        problems.add("name", str(exc))
    properties = check_definition(body.properties, problems)
    problems.raise_if_any()
    now = ctx.now_micros()
    created = ctx.db.write(
        lambda conn: store.create_event_definition(
            conn,
            who.account_id,
            name=body.name,
            properties=properties,
            description=body.description,
            now=now,
        )
    )
    ctx.forget_event_types(who.account_id)
    return created


@router.get("")
def list_event_definitions(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_event_definitions(
            conn, who.account_id, limit=page.limit, offset=page.offset
        )
    return page_of(rows, page)


@router.get("/{name}")
def read_event_definition(
    name: str = Name, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_event_definition(conn, who.account_id, name)


@router.patch("/{name}")
def update_event_definition(
    body: EventDefinitionUpdate,
    name: str = Name,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    properties = None if body.properties is None else check_definition(body.properties, problems)
    problems.raise_if_any()
    updated = ctx.db.write(
        lambda conn: store.update_event_definition(
            conn, who.account_id, name, properties=properties, description=body.description
        )
    )
    ctx.forget_event_types(who.account_id)
    return updated


@router.delete("/{name}", status_code=204)
def delete_event_definition(
    name: str = Name, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_event_definition(conn, who.account_id, name))
    ctx.forget_event_types(who.account_id)
    return Response(status_code=204)
