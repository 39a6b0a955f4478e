"""`/webhooks/{token}/delivery` and `/webhooks/{token}/inbound`: providers' callbacks.

No API key: the unguessable token names the connection (and Twilio's requests carry a
signature its provider checks). A forged, malformed or unknown callback is a 4xx and
changes nothing; a repeated one changes nothing either (services/deliveries.py,
services/inbound.py). The URL a provider signed is the one under TIDINGS_PUBLIC_URL, not
the address the request arrived at.

A provider may need a particular answer to a callback: Twilio continues a call with the
TwiML it gets in the answer to a `<Gather>` action. A provider with `callback_answer(callback)
-> (body, content type) | None` says so; the delivery webhook answers that body, once the
reports are recorded, instead of its JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response

from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS
from tidings.channels.answering import AnsweringApi
from tidings.channels.providers import Callback, CallbackRefused, Provider
from tidings.channels.registry import make_provider
from tidings.domain.errors import Forbidden, InvalidInput, NotFound, Problem, Unauthorized
from tidings.services import deliveries, inbound
from tidings.store import connections
from tidings.store.connections import ConnectionRow

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERRORS)
Token = Path(min_length=16, max_length=64, description="The connection's webhook token")
UNKNOWN = "no connection has this webhook"


async def _callback(request: Request, ctx: AppContext, token: str, kind: str) -> Callback:
    query = request.url.query
    url = f"{ctx.public_url.rstrip('/')}/api/v1/webhooks/{token}/{kind}"
    return Callback(
        url=f"{url}?{query}" if query else url,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        query=dict(request.query_params),
    )


def _connection(ctx: AppContext, token: str) -> tuple[ConnectionRow, Provider]:
    with ctx.db.read() as conn:
        row = connections.by_token(conn, token)
    if row is None or row.provider == "sandbox":
        raise NotFound(UNKNOWN)
    try:
        provider = make_provider(
            row.provider, row.settings, http=AnsweringApi(), allow_private=True
        )
    except Exception:  # stored settings that no longer parse: nothing can be checked
        raise NotFound(UNKNOWN) from None
    return row, provider


def _refused(exc: CallbackRefused) -> Exception:
    if exc.status == 401:
        return Unauthorized(exc.message)
    if exc.status == 403:
        return Forbidden(exc.message)
    if exc.status == 404:
        return NotFound(exc.message)
    return InvalidInput([Problem(exc.field, exc.message)])


@router.post("/{token}/delivery", response_model=dict[str, Any])
async def delivery_callback(
    request: Request, token: str = Token, ctx: AppContext = Depends(context)
) -> dict[str, Any] | Response:
    """A provider's delivery reports, in its own format."""
    callback = await _callback(request, ctx, token, "delivery")
    row, provider = _connection(ctx, token)
    try:
        reports = provider.delivery_reports(callback)
    except CallbackRefused as exc:
        raise _refused(exc) from None
    now = ctx.now_micros()
    changed = await ctx.db.write_async(
        lambda conn: deliveries.record(conn, row, reports, now, partitions=ctx.partitions)
    )
    if changed and ctx.wake is not None:
        ctx.wake()
    answer = _answer(provider, callback)
    if answer is not None:
        body, media_type = answer
        return Response(content=body, media_type=media_type)
    return {"reports": len(reports), "changed": changed}


def _answer(provider: Provider, callback: Callback) -> tuple[bytes, str] | None:
    """The provider's own answer to a recorded callback, when it has one (Twilio's TwiML)."""
    answering = getattr(provider, "callback_answer", None)
    if not callable(answering):
        return None
    answer = answering(callback)
    if (
        isinstance(answer, tuple)
        and len(answer) == 2
        and isinstance(answer[0], bytes)
        and isinstance(answer[1], str)
    ):
        return answer[0], answer[1]
    return None


@router.post("/{token}/inbound")
async def inbound_callback(
    request: Request, token: str = Token, ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """Messages people sent to one of the connection's numbers, in the provider's format."""
    callback = await _callback(request, ctx, token, "inbound")
    row, provider = _connection(ctx, token)
    try:
        messages = provider.inbound_messages(callback)
    except CallbackRefused as exc:
        raise _refused(exc) from None
    now = ctx.now_micros()
    received = await ctx.db.write_async(
        lambda conn: inbound.receive(conn, row, messages, now, partitions=ctx.partitions)
    )
    if received and ctx.wake is not None:
        ctx.wake()
    return {"messages": len(messages), "received": received}
