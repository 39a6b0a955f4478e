"""`/templates` (predefined and saved flow templates) and `/schema/flow`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field, model_validator

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, MAX_ID, Strict
from tidings.domain.flows import canonical_data, flow_json_schema, parse_document
from tidings.services import templates as service

router = APIRouter(tags=["flows"], responses=ERRORS)


class TemplateCreate(Strict):
    name: str = Field(min_length=1, max_length=255, description="The template's name")
    description: str | None = Field(None, max_length=1000)
    flow: int | None = Field(None, ge=1, le=MAX_ID, description="Save this flow's document")
    version: int | None = Field(
        None, ge=1, le=100_000, description="Which version (default newest)"
    )
    document: dict[str, Any] | None = Field(None, description="Or save this document")

    @model_validator(mode="after")
    def _one_source(self) -> TemplateCreate:
        if (self.flow is None) == (self.document is None):
            raise ValueError("give exactly one of flow and document")
        return self


@router.get("/templates", summary="Predefined and saved flow templates")
def list_templates(
    who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return {"items": service.list_templates(conn, who.account_id)}


@router.post("/templates", status_code=201, summary="Save a flow (or a document) as a template")
def create_template(
    body: TemplateCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    now = ctx.now_micros()
    given = None if body.document is None else canonical_data(parse_document(body.document))

    def write(conn: Any) -> dict[str, Any]:
        if given is None:
            assert body.flow is not None
            return service.save_flow_template(
                conn,
                who.account_id,
                name=body.name,
                description=body.description,
                flow=body.flow,
                version=body.version,
                now=now,
            )
        return service.save_template(
            conn,
            who.account_id,
            name=body.name,
            description=body.description,
            document=given,
            now=now,
        )

    return ctx.db.write(write)


@router.delete("/templates/{name}", status_code=204, summary="Delete a saved template")
def delete_template(
    name: str = Path(max_length=255),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> Response:
    ctx.db.write(lambda conn: service.delete_template(conn, who.account_id, name))
    return Response(status_code=204)


@router.get("/schema/flow", summary="The JSON Schema of flow documents")
def flow_schema() -> dict[str, Any]:
    return flow_json_schema()
