"""`/webhooks/{token}/delivery` and `/webhooks/{token}/inbound`: providers' callbacks.

The inbound webhook also takes the requests of calls to the connection's numbers
(inbound calls in IVR: a provider with `call_events` says which bodies are call events;
services/calls.py): Infobip's Calls API events, and Twilio's call webhooks, which a
provider with `call_reply` answers in its own language (TwiML) by the call's state.

No API key: the unguessable token names the connection (and Twilio's requests carry a
signature its provider checks). A forged, malformed or unknown callback is a 4xx and
changes nothing; a repeated one changes nothing either (services/deliveries.py,
services/inbound.py). The URL a provider signed is the one under TIDINGS_PUBLIC_URL, not
the address the request arrived at.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response

from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS
from tidings.channels.answering import AnsweringApi
from tidings.channels.providers import Callback, CallbackRefused, Provider
from tidings.channels.registry import make_provider
from tidings.domain.errors import Forbidden, InvalidInput, NotFound, Problem, Unauthorized
from tidings.services import calls, deliveries, inbound
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


async def _receive(
    request: Request,
    ctx: AppContext,
    token: str,
    kind: str,
    parse: Callable[[Provider, Callback], Sequence[Any]],
    apply: Callable[..., int],
) -> tuple[int, int, tuple[bytes, str] | None]:
    """Parse a callback in its provider's format and apply what it carries in one write;
    answer how many items it carried and how many changed anything."""
    callback = await _callback(request, ctx, token, kind)
    row, provider = _connection(ctx, token)
    await ctx.db.committer.wait_while_holding()  # the parse would slow its turn
    try:
        items = parse(provider, callback)
    except CallbackRefused as exc:
        raise _refused(exc) from None
    now, partitions = ctx.now_micros(), ctx.partitions
    changed = await ctx.db.write_async(
        lambda conn: apply(conn, row, items, now, partitions=partitions)
    )
    if changed and ctx.wake is not None:
        ctx.wake()
    # a provider that must be answered in its own language (Twilio's <Gather> action: TwiML)
    answer = getattr(provider, "callback_answer", None)
    spoken = answer(callback) if answer is not None else None
    return len(items), changed, spoken


@router.post("/{token}/delivery")
async def delivery_callback(
    request: Request, token: str = Token, ctx: AppContext = Depends(context)
) -> Any:
    """A provider's delivery reports, in its own format."""
    reports, changed, spoken = await _receive(
        request,
        ctx,
        token,
        "delivery",
        lambda provider, callback: provider.delivery_reports(callback),
        functools.partial(deliveries.record, quiet=ctx.quiet_reports),
    )
    if spoken is not None:
        return Response(content=spoken[0], media_type=spoken[1])
    return {"reports": reports, "changed": changed}


@router.post("/{token}/inbound")
async def inbound_callback(
    request: Request, token: str = Token, ctx: AppContext = Depends(context)
) -> Any:
    """Messages people sent to one of the connection's numbers, in the provider's format,
    and the events of calls to them (Infobip's Calls API, Twilio's call webhooks)."""
    row, provider = _connection(ctx, token)
    reader = getattr(provider, "call_events", None)
    if reader is not None:
        callback = await _callback(request, ctx, token, "inbound")
        try:
            events = reader(callback)
        except CallbackRefused as exc:
            raise _refused(exc) from None
        if events is not None:
            taken, changed, _ = await _receive(
                request, ctx, token, "inbound", lambda _p, _c: events, calls.record
            )
            answer = getattr(provider, "call_reply", None)
            if answer is not None and events:  # the provider runs the call by our reply
                with ctx.db.read() as conn:
                    state = calls.state(conn, row, events[0].call_id)
                body, media = answer(callback, state)
                return Response(content=body, media_type=media)
            return {"events": taken, "changed": changed}
    messages, received, _ = await _receive(
        request,
        ctx,
        token,
        "inbound",
        lambda provider, callback: provider.inbound_messages(callback),
        inbound.receive,
    )
    return {"messages": messages, "received": received}
