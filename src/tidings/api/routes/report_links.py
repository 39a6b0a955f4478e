"""`/r/{token}`: an emailed report's download link, at the server's root beside `/t/`
and `/u/`, followed with no API key. The token (domain/report_links.py) is the
authority: signed, naming the account and the report, valid 7 days. A forged, altered
or expired one, or one whose report is gone, is a 404 that says nothing more."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from tidings.api.context import AppContext, context
from tidings.api.routes.reports import file_response
from tidings.domain import report_links
from tidings.domain.errors import NotFound
from tidings.store import reports as store

router = APIRouter(tags=["reports"], include_in_schema=False)
GONE = "this link is not valid (links work for 7 days)"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/r/{token}")  # any token: a bad one is a 404 (decode), never a 422
def download(token: str, ctx: AppContext = Depends(context)) -> StreamingResponse:
    link = report_links.decode(token, ctx.report_link_key(), ctx.now_micros())
    if link is None:
        raise NotFound(GONE)
    with ctx.db.read() as conn:
        try:
            report = store.read_report(conn, link.account_id, link.report_id)
        except NotFound:
            raise NotFound(GONE) from None
    if report["status"] != "ready":
        raise NotFound(GONE)
    return file_response(ctx, link.account_id, report, NO_STORE)
