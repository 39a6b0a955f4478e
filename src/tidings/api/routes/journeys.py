"""`GET /people/{id}/journeys`: each flow a person is or was in, the elements passed with
their times, and the reason for each decision (see `store/traces.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, id_path
from tidings.store.traces import person_journeys

router = APIRouter(tags=["people"], responses=ERRORS)


@router.get(
    "/people/{person_id}/journeys",
    summary="A person's journeys: flows, elements passed with times, and why",
)
def journeys(
    person_id: int = id_path("person"),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return person_journeys(conn, who.account_id, person_id)
