"""`/attributes`: the account's custom person attributes and their types.

A person's `attributes` may only hold declared names, each checked against its type on
every write, so that segments and expressions compare like with like. A type never
changes once declared; deleting an attribute removes its values from every profile, so a
later declaration of the same name starts clean.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict
from tidings.domain.errors import NotFound, ProblemList
from tidings.domain.people import check_attribute_name
from tidings.domain.values import ValueType, check_text
from tidings.store import definitions as store
from tidings.store.people import drop_attribute

router = APIRouter(prefix="/attributes", tags=["people"], responses=ERRORS)
Name = Path(max_length=64, description="The attribute name")


class AttributeCreate(Strict):
    name: str = Field(max_length=64, description="Attribute name, e.g. loyaltyPoints")
    type: ValueType = Field(description="text, decimal, integer, boolean, date, datetime, list")
    description: str | None = Field(None, max_length=1000)


class AttributeUpdate(Strict):
    description: str | None = Field(None, max_length=1000)


def _known_name(name: str) -> str:
    """A name that could be declared; any other cannot exist, so it is simply not found."""
    try:
        check_attribute_name(name)
    except ValueError:
        raise NotFound(f"attribute {name!r} is not defined") from None
    return name


def _check_description(description: str | None, problems: ProblemList) -> None:
    if description is not None:
        try:
            check_text(description)
        except ValueError as exc:
            problems.add("description", str(exc))


@router.post("", status_code=201)
def create_attribute(
    body: AttributeCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    problems = ProblemList()
    try:
        check_attribute_name(body.name)
    except ValueError as exc:
        problems.add("name", str(exc))
    _check_description(body.description, problems)
    problems.raise_if_any()
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.create_attribute(
            conn,
            who.account_id,
            name=body.name,
            kind=body.type,
            description=body.description,
            now=now,
        )
    )


@router.get("")
def list_attributes(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_attributes(conn, who.account_id, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{name}")
def read_attribute(
    name: str = Name, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    _known_name(name)
    with ctx.db.read() as conn:
        return store.read_attribute(conn, who.account_id, name)


@router.patch("/{name}", summary="Change the description (a type never changes)")
def update_attribute(
    body: AttributeUpdate,
    name: str = Name,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    _known_name(name)
    problems = ProblemList()
    _check_description(body.description, problems)
    problems.raise_if_any()
    return ctx.db.write(
        lambda conn: store.update_attribute(
            conn, who.account_id, name, description=body.description
        )
    )


@router.delete("/{name}", status_code=204, summary="Delete an attribute and its values")
def delete_attribute(
    name: str = Name, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    _known_name(name)

    def write(conn: Any) -> None:
        store.delete_attribute(conn, who.account_id, name)
        drop_attribute(conn, who.account_id, name)

    ctx.db.write(write)
    return Response(status_code=204)
