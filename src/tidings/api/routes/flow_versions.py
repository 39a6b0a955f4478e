"""`/flows/{id}/versions`: history, new drafts, in-place edits, stop, delete, duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, id_path, read_json
from tidings.domain.errors import InvalidInput, Problem
from tidings.services import flow_views as views
from tidings.services import flows as actions

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
        return views.version_history(conn, who.account_id, flow_id)


NEW_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "from": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 100_000,
                            "description": "The version the new draft starts from "
                            "(default: the newest).",
                        }
                    },
                    "additionalProperties": False,
                }
            }
        },
    }
}


def _base_version(body: Any) -> int | None:
    """The `from` of a new version's body (None: the newest), or a 422 naming the field."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise InvalidInput([Problem("body", 'give {"from": n} or nothing')])
    for key in body:
        if key != "from":
            raise InvalidInput([Problem(str(key), "is not a known field")])
    if "from" not in body:
        return None
    base = body["from"]
    if isinstance(base, bool) or not isinstance(base, int) or not 1 <= base <= 100_000:
        raise InvalidInput([Problem("from", "must be a version number (1 or more)")])
    return base


@router.post(
    "",
    status_code=201,
    openapi_extra=NEW_BODY,
    summary="A new draft version (from the newest, or `from`)",
)
async def create_version(
    request: Request,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    raw = await request.body()
    body = await read_json(request) if raw.strip() else None
    now = ctx.now_micros()

    def write(conn: Any) -> dict[str, Any]:
        views.check_flow(conn, who.account_id, flow_id)  # another account's flow: a 404 first
        base = _base_version(body)
        return actions.new_version(conn, who.account_id, flow_id, now, base=base)

    return await ctx.db.write_async(write)


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
    result = dict(
        await asyncio.to_thread(
            ctx.write_and_refresh,
            lambda conn: actions.edit_in_place(
                conn, who.account_id, flow_id, number, changes, now, partitions=ctx.partitions
            ),
        )
    )
    if ctx.wake is not None:  # an audience's new people enter at once
        ctx.wake()
    return result


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
    ctx.db.write(lambda conn: actions.delete_version(conn, who.account_id, flow_id, number, now))
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
