"""`/reports`: reports as CSV or XLSX files, built in the background (services/reports.py,
services/report_worker.py): ask for one, list them, read one's state, download its file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, MAX_ID, Strict, id_path
from tidings.domain.errors import Conflict
from tidings.services import reports as service
from tidings.services.report_files import CONTENT_TYPES
from tidings.store import reports as store

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERRORS)
ReportId = id_path("report")


class ReportEmail(Strict):
    to: list[Annotated[str, Field(max_length=320)]] = Field(
        min_length=1,
        max_length=10,
        description="Who gets the email when the report is done: 1 to 10 addresses "
        "(each gets a copy of their own).",
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=320,
        description="The sender's address (default: the email connection's own, an SMTP "
        "login that is an address; required when it has none).",
    )


class ReportCreate(Strict):
    type: Literal["flow", "channels", "participants", "mep", "imports"] = Field(
        description="flow: the flow's and each element's figures; channels: each "
        "channel's messages; participants: one row a participation; mep: the monthly "
        "engaged persons; imports: the flow's SFTP imports."
    )
    name: str | None = Field(
        None, min_length=1, max_length=200, description="The report's name, and its file's."
    )
    flow: int | None = Field(
        None, ge=1, le=MAX_ID, description="The flow (flow, channels, participants, imports)."
    )
    version: int | None = Field(
        None, ge=1, le=999_999, description="One version of the flow (default: all)."
    )
    month: str | None = Field(
        None, max_length=7, description="YYYY-MM (mep: one of the last 3 months, admin keys)."
    )
    accounts: list[int] | None = Field(
        None,
        max_length=1000,
        description="The accounts an MEP report covers: the caller's and its sub-accounts' "
        "ids (default: all of them).",
    )
    format: Literal["csv", "xlsx"] = Field("csv", description="csv (UTF-8) or xlsx")
    email: ReportEmail | None = Field(
        None,
        description="Email the report when it is done, through the account's email "
        "connection (smtp or infobip): a download link valid 7 days, or why it failed.",
    )


@router.post("", status_code=202, summary="Ask for a report, built in the background")
def create_report(
    body: ReportCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    now = ctx.now_micros()
    created = ctx.db.write(
        lambda conn: service.create_report(
            conn,
            who.account_id,
            type=body.type,
            format=body.format,
            name=body.name,
            flow=body.flow,
            version=body.version,
            month=body.month,
            accounts=body.accounts,
            admin=who.admin,
            now=now,
            email=None if body.email is None else {"to": body.email.to, "from": body.email.from_},
        )
    )
    if ctx.wake_reports is not None:
        ctx.wake_reports()
    return created


@router.get("", summary="The account's reports, newest first")
def list_reports(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_reports(conn, who.account_id, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{report_id}", summary="A report: pending, ready (size, rows) or failed (reason)")
def read_report(
    report_id: int = ReportId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_report(conn, who.account_id, report_id)


@router.get(
    "/{report_id}/file",
    summary="The report's file (409 until it is ready)",
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in CONTENT_TYPES.values()}}},
)
def report_file(
    report_id: int = ReportId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> StreamingResponse:
    account_id = who.account_id
    with ctx.db.read() as conn:
        report = store.read_report(conn, account_id, report_id)
        if report["status"] == "pending":
            raise Conflict(f"report {report_id} is not ready yet: ask again shortly")
        if report["status"] == "failed":
            raise Conflict(f"report {report_id} failed: {report['reason']}")
    return file_response(ctx, account_id, report)


def file_response(
    ctx: AppContext, account_id: int, report: dict[str, Any], headers: dict[str, str] | None = None
) -> StreamingResponse:
    """A ready report's file, streamed a piece (a MiB) at a time, each in its own short
    read: `GET /reports/{id}/file` and an emailed report's link (`/r/{token}`)."""
    report_id = int(report["id"])
    with ctx.db.read() as conn:
        pieces = store.chunk_count(conn, account_id, report_id)

    def stream() -> Iterator[bytes]:
        for seq in range(pieces):
            with ctx.db.read() as conn:
                yield store.read_chunk(conn, account_id, report_id, seq)

    return StreamingResponse(
        stream(),
        media_type=CONTENT_TYPES[report["format"]],
        headers={
            **(headers or {}),
            "Content-Disposition": service.content_disposition(report["name"], report["format"]),
            "Content-Length": str(report["size"]),
        },
    )
