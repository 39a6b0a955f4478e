"""`/mep`: monthly engaged persons of the caller's account and its sub-accounts (admin
keys only; DESIGN.md, "MEP")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from tidings.analytics.mep import engaged_persons
from tidings.api.auth import Caller, admin
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS

router = APIRouter(tags=["mep"], responses=ERRORS)


@router.get("/mep")
def read_mep(
    month: str | None = Query(
        None,
        max_length=16,
        description="The calendar month, e.g. 2026-11 (default: the current month in the "
        "account's time zone); only the last 3 months, the current included",
    ),
    who: Caller = Depends(admin),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """`{"month", "total", "accounts": [{"id", "name", "total"}], "topFlows": [{"flow",
    "name", "total"}]}`: people who entered at least one flow in the month, once each,
    over the account and its sub-accounts. `topFlows` are the 10 flows that engaged the
    most, each person attributed to the flow of their first entry that month."""
    now = ctx.now_micros()
    with ctx.db.read() as conn:
        return engaged_persons(conn, who.account_id, month, now)
