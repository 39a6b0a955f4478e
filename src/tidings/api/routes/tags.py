"""`/tags`: the account's labels for people. People get tags through `/people` (unknown
names are created on the fly); here they are listed with counts, renamed and deleted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.domain.errors import ProblemList
from tidings.domain.people import MAX_NAME, check_name
from tidings.store import tags as store

router = APIRouter(prefix="/tags", tags=["people"], responses=ERRORS)
TagId = id_path("tag")


class TagCreate(Strict):
    name: str = Field(max_length=MAX_NAME, description="Tag name, e.g. vip")


class TagUpdate(Strict):
    name: str = Field(max_length=MAX_NAME, description="The new name; people keep the tag")


def _checked_name(raw: str) -> str:
    problems = ProblemList()
    name = ""
    try:
        name = check_name(raw)
    except ValueError as exc:
        problems.add("name", str(exc))
    problems.raise_if_any()
    return name


@router.post("", status_code=201)
def create_tag(
    body: TagCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    name = _checked_name(body.name)
    now = ctx.now_micros()
    return ctx.db.write(lambda conn: store.create_tag(conn, who.account_id, name=name, now=now))


@router.get("", summary="Tags by name, each with how many people carry it")
def list_tags(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_tags(conn, who.account_id, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{tag_id}")
def read_tag(
    tag_id: int = TagId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_tag(conn, who.account_id, tag_id)


@router.patch("/{tag_id}", summary="Rename a tag")
def update_tag(
    body: TagUpdate,
    tag_id: int = TagId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    name = _checked_name(body.name)
    return ctx.db.write(lambda conn: store.update_tag(conn, who.account_id, tag_id, name=name))


@router.delete("/{tag_id}", status_code=204, summary="Delete a tag, taking it off everyone")
def delete_tag(
    tag_id: int = TagId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_tag(conn, who.account_id, tag_id))
    return Response(status_code=204)
