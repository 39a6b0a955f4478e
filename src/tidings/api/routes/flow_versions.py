"""`/flows/{id}/versions`: history, new drafts, in-place edits, stop, delete, duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field

from tidings.api import flow_actions as actions
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, Strict, id_path, read_json
from tidings.domain.errors import Conflict, InvalidInput, Problem
from tidings.domain.lifecycle import Action, move
from tidings.store import flows as store

router = APIRouter(prefix="/flows/{flow_id}/versions", tags=["flows"], responses=ERRORS)
FlowId = id_path("flow")
Number = Path(ge=1, le=100_000, description="The version number")
PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "settings": {
                            "type": "object",
                            "properties": {"goal": {}, "schedule": {}},
                        },
                        "entry": {
                            "type": "object",
                            "properties": {
                                "segments": {"type": "array"},
                                "tags": {"type": "array"},
                                "people": {"type": "array"},
                                "companies": {"type": "array"},
                            },
                        },
                    },
                }
            }
        },
    }
}


@router.get("", summary="Version history")
def list_versions(
    flow_id: int = FlowId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        store.read_flow(conn, who.account_id, flow_id)
        return [v.summary() for v in store.list_versions(conn, who.account_id, flow_id)]


class VersionCreate(Strict):
    from_: int = Field(
        default=None,  # type: ignore[assignment]  # absent: the newest; null is refused
        alias="from",
        ge=1,
        le=100_000,
        description="The version the new draft starts from (default: the newest).",
    )


@router.post("", status_code=201, summary="A new draft version (from the newest, or `from`)")
def create_version(
    body: VersionCreate | None = None,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    base = None if body is None else body.from_
    return ctx.db.write(
        lambda conn: actions.new_version(conn, who.account_id, flow_id, now, base=base)
    )


@router.patch(
    "/{number}", openapi_extra=PATCH_BODY, summary="Change goal, schedule or audience in place"
)
async def edit_version(
    request: Request,
    flow_id: int = FlowId,
    number: int = Number,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    changes = await read_json(request)
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput([Problem("body", "give settings.goal, settings.schedule or entry")])
    now = ctx.now_micros()
    return dict(
        await asyncio.to_thread(
            ctx.write_and_refresh,
            lambda conn: actions.edit_in_place(conn, who.account_id, flow_id, number, changes, now),
        )
    )


@router.post("/{number}/stop", summary="No new entries; people inside finish")
def stop_version(
    flow_id: int = FlowId,
    number: int = Number,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: actions.stop_version(conn, who.account_id, flow_id, number, now)
    )


@router.delete("/{number}", status_code=204, summary="Delete a draft version")
def delete_version(
    flow_id: int = FlowId,
    number: int = Number,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> Response:
    now = ctx.now_micros()

    def write(conn: Any) -> None:
        store.read_flow(conn, who.account_id, flow_id, lock=True)
        version = store.read_version(conn, who.account_id, flow_id, number)
        move(Action.delete, version.status, what=f"version {number}")
        if len(store.list_versions(conn, who.account_id, flow_id)) == 1:
            raise Conflict("this is the flow's only version: delete the flow instead")
        store.delete_version(conn, who.account_id, flow_id, number, now)

    ctx.db.write(write)
    return Response(status_code=204)


@router.post("/{number}/duplicate", status_code=201, summary="A new draft flow from this version")
def duplicate_version(
    flow_id: int = FlowId,
    number: int = Number,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    return ctx.db.write(lambda conn: actions.duplicate(conn, who.account_id, flow_id, number, now))
