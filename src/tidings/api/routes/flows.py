"""`/flows`: the All Communications list, documents, validation, launch and lifecycle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, TypeAdapter

from tidings.api import openapi
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict, id_path, read_json
from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.flows import FlowDocument, canonical_data, parse_document
from tidings.domain.lifecycle import Action, Status
from tidings.services import flow_views as views
from tidings.services import flows as actions
from tidings.services.templates import start_from_template

router = APIRouter(prefix="/flows", tags=["flows"], responses=ERRORS)
FlowId = id_path("flow")
_document_ref = openapi.register("FlowDocument", TypeAdapter(FlowDocument))
_template_ref = {
    "type": "object",
    "properties": {"template": {"type": "string", "description": "A template name"}},
    "required": ["template"],
    "additionalProperties": False,
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "",
    status_code=201,
    openapi_extra=_body({"oneOf": [_document_ref, _template_ref]}),
    summary="Create a draft flow from a document or a template",
)
async def create_flow(
    request: Request, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    data = await read_json(request)
    now = ctx.now_micros()
    if isinstance(data, dict) and "template" in data:
        if set(data) != {"template"} or not isinstance(data["template"], str):
            raise InvalidInput([Problem("template", "give only the template's name")])
        name = data["template"]
        return await ctx.db.write_async(
            lambda conn: start_from_template(conn, who.account_id, name, now)
        )
    document = canonical_data(parse_document(data))
    return await ctx.db.write_async(
        lambda conn: actions.create_flow(conn, who.account_id, document, now)
    )


@router.get("", summary="All Communications: flows by last change")
def list_flows(
    status: Status | None = Query(None, description="Only flows in this status"),
    q: str | None = Query(None, max_length=255, description="Search by name"),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        items = views.list_flows(
            conn, who.account_id, status=status, q=q, limit=page.limit, offset=page.offset
        )
    return page_of(items, page)


@router.get("/{flow_id}")
def read_flow(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return views.flow_view(conn, who.account_id, flow_id)


@router.delete("/{flow_id}", status_code=204, summary="Delete a flow that was never launched")
def delete_flow(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: actions.delete_flow(conn, who.account_id, flow_id))
    return Response(status_code=204)


@router.get("/{flow_id}/document", summary="The newest version's document")
def read_document(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return views.read_document(conn, who.account_id, flow_id)


@router.put(
    "/{flow_id}/document",
    openapi_extra=_body(_document_ref),
    summary="Replace the document of the draft version",
)
async def replace_document(
    request: Request,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    doc = parse_document(await read_json(request))
    now = ctx.now_micros()
    return await ctx.db.write_async(
        lambda conn: actions.replace_document(conn, who.account_id, flow_id, doc, now)
    )


@router.post("/{flow_id}/validate", summary="Every problem that stops a launch")
def validate_flow(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        problems = actions.validate_flow(conn, who.account_id, flow_id)
    return {"problems": [p.as_dict() for p in problems]}


@router.post("/{flow_id}/launch", summary="Launch the draft version (or see the lift-off page)")
def launch_flow(
    flow_id: int = FlowId,
    dryRun: bool = Query(False, description="Only return the lift-off summary"),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    if dryRun:
        with ctx.db.read() as conn:
            return actions.launch_summary(conn, who.account_id, flow_id, now)
    return dict(
        ctx.write_and_refresh(
            lambda conn: actions.launch(
                conn, who.account_id, flow_id, now, partitions=ctx.partitions
            )
        )
    )


def _action(action: Action) -> Any:
    def endpoint(
        flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
    ) -> dict[str, Any]:
        now = ctx.now_micros()
        return dict(
            ctx.write_and_refresh(
                lambda conn: actions.act(conn, who.account_id, flow_id, action, now)
            )
        )

    endpoint.__name__ = f"{action.value}_flow"
    return endpoint


router.post("/{flow_id}/pause", summary="Hold every participation where it is")(
    _action(Action.pause)
)
router.post("/{flow_id}/resume", summary="Continue a paused flow")(_action(Action.resume))
router.post("/{flow_id}/cancel", summary="End the flow and every participation")(
    _action(Action.cancel)
)


@router.post("/{flow_id}/duplicate", status_code=201, summary="A new draft flow, a copy")
def duplicate_flow(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    now = ctx.now_micros()
    return ctx.db.write(lambda conn: actions.duplicate(conn, who.account_id, flow_id, None, now))


class AudienceSources(Strict):
    segments: list[int | str] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100)
    people: list[int | str] = Field(default_factory=list, max_length=1000)
    companies: list[int | str] = Field(default_factory=list, max_length=100)


class AudienceChange(Strict):
    add: AudienceSources = Field(default_factory=AudienceSources)
    remove: AudienceSources = Field(default_factory=AudienceSources)


@router.post("/{flow_id}/audience", summary="Add or remove sources of a real-time audience")
def change_audience(
    body: AudienceChange,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    result = ctx.write_and_refresh(
        lambda conn: actions.change_audience(
            conn,
            who.account_id,
            flow_id,
            body.add.model_dump(),
            body.remove.model_dump(),
            now,
            partitions=ctx.partitions,
        )
    )
    if ctx.wake is not None:
        ctx.wake()
    return dict(result)
