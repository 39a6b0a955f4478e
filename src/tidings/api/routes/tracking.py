"""`/t/{token}` (a tracked link, the open pixel) and `/u/{token}` (unsubscribe), at the
server's root beside `/api/v1`: people follow them from messages, with no API key. A
wrong token is a 404 that says nothing more (services/tracking.py)."""

from __future__ import annotations

import base64
import html

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.api.context import AppContext, context
from tidings.domain.errors import NotFound
from tidings.domain.tracking import decode
from tidings.services import tracking

router = APIRouter(tags=["tracking"], include_in_schema=False)
Token = Path(min_length=8, max_length=64)
GONE = "this link is not valid"
# a transparent 1x1 GIF
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/t/{token}")
def follow(token: str = Token, ctx: AppContext = Depends(context)) -> Response:
    found = decode(token, ctx.tracking_key())
    if found is None or found.kind not in ("click", "open"):
        raise NotFound(GONE)
    now, partitions = ctx.now_micros(), ctx.partitions
    if found.kind == "open":
        if not ctx.db.write(lambda conn: tracking.opened(conn, found, now, partitions=partitions)):
            raise NotFound(GONE)
        _wake(ctx)
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)
    url = ctx.db.write(lambda conn: tracking.click(conn, found, now, partitions=partitions))
    if url is None:
        raise NotFound(GONE)
    _wake(ctx)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>{title}</h1>{body}</body></html>"""


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str = Token, ctx: AppContext = Depends(context)) -> HTMLResponse:
    """A page with a button: a GET changes nothing (mail scanners follow links)."""
    found = decode(token, ctx.tracking_key())
    if found is None:
        raise NotFound(GONE)
    with ctx.db.read() as conn:
        if not tracking.known(conn, found):
            raise NotFound(GONE)
    form = (
        f'<form method="post" action="/u/{html.escape(token)}">'
        "<p>Stop receiving these messages?</p>"
        '<button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(PAGE.format(title="Unsubscribe", body=form), headers=NO_STORE)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(token: str = Token, ctx: AppContext = Depends(context)) -> HTMLResponse:
    """The one-click unsubscribe (RFC 8058) and the page's button."""
    found = decode(token, ctx.tracking_key())
    if found is None:
        raise NotFound(GONE)
    now, partitions = ctx.now_micros(), ctx.partitions
    done = ctx.db.write(lambda conn: tracking.unsubscribe(conn, found, now, partitions=partitions))
    if not done:
        raise NotFound(GONE)
    _wake(ctx)
    body = "<p>You will not receive these messages any more.</p>"
    return HTMLResponse(PAGE.format(title="You are unsubscribed", body=body), headers=NO_STORE)


def _wake(ctx: AppContext) -> None:
    if ctx.wake is not None:
        ctx.wake()
