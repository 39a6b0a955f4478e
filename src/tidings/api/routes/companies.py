"""`/companies`: the organisations people belong to. A person names companies by name in
`/people`; a company must exist first, so a typo never creates a stray company."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.domain.errors import ProblemList
from tidings.domain.people import MAX_NAME, CompanyChanges, check_company
from tidings.domain.values import check_text
from tidings.store import companies as store
from tidings.store import people

router = APIRouter(prefix="/companies", tags=["people"], responses=ERRORS)
CompanyId = id_path("company")


class CompanyCreate(Strict):
    name: str = Field(max_length=MAX_NAME, description="Company name, unique in the account")
    domain: str | None = Field(None, max_length=253, description="Web domain, e.g. example.com")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description='Free-form values, e.g. {"plan": "gold"}'
    )


class CompanyUpdate(Strict):
    name: str | None = Field(None, max_length=MAX_NAME, description="A new name")
    domain: str | None = Field(None, max_length=253, description="A new domain; null clears it")
    attributes: dict[str, Any] | None = Field(
        None, description="Merged key by key; a null value removes the key"
    )


def _checked(data: dict[str, Any]) -> CompanyChanges:
    problems = ProblemList()
    changes = check_company(data, problems)
    problems.raise_if_any()
    return changes


@router.post("", status_code=201)
def create_company(
    body: CompanyCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    changes = _checked(body.model_dump())
    now = ctx.now_micros()
    return ctx.db.write(lambda conn: store.create_company(conn, who.account_id, changes, now=now))


@router.get("", summary="Companies by name; `q` finds names containing it")
def list_companies(
    q: str | None = Query(None, max_length=255, description="Part of the name, any case"),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    if q is not None:
        problems = ProblemList()
        try:
            check_text(q)
        except ValueError as exc:
            problems.add("q", str(exc))
        problems.raise_if_any()
    with ctx.db.read() as conn:
        rows = store.list_companies(conn, who.account_id, q=q, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{company_id}")
def read_company(
    company_id: int = CompanyId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_company(conn, who.account_id, company_id)


@router.get("/{company_id}/people", summary="The company's people, by id")
def company_people(
    company_id: int = CompanyId,
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        store.read_company(conn, who.account_id, company_id)
        rows = people.list_people(
            conn,
            who.account_id,
            people.PeopleFilter(company_id=company_id),
            limit=page.limit,
            offset=page.offset,
        )
    return page_of(rows, page)


@router.patch("/{company_id}")
def update_company(
    body: CompanyUpdate,
    company_id: int = CompanyId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    changes = _checked(body.model_dump(exclude_unset=True))
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.update_company(conn, who.account_id, company_id, changes, now=now)
    )


@router.delete("/{company_id}", status_code=204, summary="Delete a company; its people stay")
def delete_company(
    company_id: int = CompanyId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_company(conn, who.account_id, company_id))
    return Response(status_code=204)
