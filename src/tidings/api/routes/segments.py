"""`/segments`: saved audience rules, their members and counts, and a preview for the canvas.

A rule is checked against the account's attribute and event definitions before anything
is written (`domain.segments.check_rule`); members and counts are evaluated by the
database at the (possibly virtual) clock's current instant.
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
from tidings.domain.segment_values import clean_text
from tidings.domain.segments import Rule, check_rule, check_segment_name
from tidings.store import segments as store

router = APIRouter(prefix="/segments", tags=["segments"], responses=ERRORS)
SegmentId = Path(ge=1, le=2**63 - 1, description="The segment's id")

RULE_DOC = (
    'A condition tree: {"all": [...]}, {"any": [...]}, {"not": condition}, or a leaf: '
    '{"attribute": name, "op": op, "value": v}, {"tag": name}, {"company": name}, '
    '{"event": name, "count": {"op", "value"}, "within": "P30D", "where": '
    '[{"property": name, "op": op, "value": v}]}. Ops: eq, ne, gt, gte, lt, lte, '
    "contains, startsWith, in, exists, notExists."
)
RULE_EXAMPLE = {
    "all": [
        {"attribute": "country", "op": "eq", "value": "HR"},
        {"tag": "vip"},
        {"event": "PurchaseFinished", "count": {"op": "gte", "value": 2}, "within": "P30D"},
    ]
}


class SegmentCreate(Strict):
    name: str = Field(min_length=1, max_length=255, description="Unique in the account")
    description: str | None = Field(None, max_length=1000)
    rule: dict[str, Any] = Field(description=RULE_DOC, examples=[RULE_EXAMPLE])


class SegmentUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=1000, description="null clears it")
    rule: dict[str, Any] | None = Field(None, description=RULE_DOC)


class SegmentPreview(Strict):
    rule: dict[str, Any] = Field(description=RULE_DOC, examples=[RULE_EXAMPLE])


def _rule(ctx: AppContext, account_id: int, raw: Any, problems: ProblemList) -> Rule | None:
    with ctx.db.read() as conn:
        schema = store.rule_schema(conn, account_id)
    return check_rule(raw, schema, problems)


def _name(raw: str, problems: ProblemList) -> str:
    try:
        return check_segment_name(raw)
    except ValueError as exc:
        problems.add("name", str(exc))
        return raw


def _description(raw: str | None, problems: ProblemList) -> str | None:
    try:
        return None if raw is None else clean_text(raw)
    except ValueError as exc:
        problems.add("description", str(exc))
        return None


@router.post("", status_code=201)
def create_segment(
    body: SegmentCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    problems = ProblemList()
    name = _name(body.name, problems)
    description = _description(body.description, problems)
    rule = _rule(ctx, who.account_id, body.rule, problems)
    problems.raise_if_any()
    assert rule is not None
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.create_segment(
            conn, who.account_id, name=name, description=description, rule=rule, now=now
        )
    )


@router.get("")
def list_segments(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_segments(conn, who.account_id, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.post("/preview")
def preview_segment(
    body: SegmentPreview, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, int]:
    """How many people an unsaved rule holds for now (nothing is stored)."""
    problems = ProblemList()
    rule = _rule(ctx, who.account_id, body.rule, problems)
    problems.raise_if_any()
    assert rule is not None
    with ctx.db.read() as conn:
        return {"count": store.count_rule(conn, who.account_id, rule, now=ctx.now_micros())}


@router.get("/{segment_id}")
def read_segment(
    segment_id: int = SegmentId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_segment(conn, who.account_id, segment_id)


@router.patch("/{segment_id}")
def update_segment(
    body: SegmentUpdate,
    segment_id: int = SegmentId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    given = body.model_fields_set
    problems = ProblemList()
    for field in ("name", "rule"):
        if field in given and getattr(body, field) is None:
            problems.add(field, "must not be null")
    name: str | store.Keep = store.KEEP
    description: str | store.Keep | None = store.KEEP
    rule: Rule | store.Keep | None = store.KEEP
    if body.name is not None:
        name = _name(body.name, problems)
    if "description" in given:
        description = _description(body.description, problems)
    if body.rule is not None:
        rule = _rule(ctx, who.account_id, body.rule, problems)
    problems.raise_if_any()
    assert rule is not None
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.update_segment(
            conn,
            who.account_id,
            segment_id,
            name=name,
            description=description,
            rule=rule,
            now=now,
        )
    )


@router.delete("/{segment_id}", status_code=204)
def delete_segment(
    segment_id: int = SegmentId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_segment(conn, who.account_id, segment_id))
    return Response(status_code=204)


@router.get("/{segment_id}/members")
def segment_members(
    segment_id: int = SegmentId,
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """The people in the segment now, by id: `{"id", "externalId", "firstName", "lastName"}`."""
    with ctx.db.read() as conn:
        rows = store.members(
            conn,
            who.account_id,
            segment_id,
            now=ctx.now_micros(),
            limit=page.limit,
            offset=page.offset,
        )
    return page_of(rows, page)


@router.get("/{segment_id}/count")
def segment_count(
    segment_id: int = SegmentId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, int]:
    with ctx.db.read() as conn:
        return {"count": store.count(conn, who.account_id, segment_id, now=ctx.now_micros())}
