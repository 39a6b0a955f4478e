"""`/connections`: an account's links to providers (admin keys only; DESIGN.md, Channels
and providers). Secrets are write-only; each connection answers with its webhook URLs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from tidings.api.auth import Caller, admin
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict
from tidings.channels.providers import CHANNELS
from tidings.services import connections as service
from tidings.store import connections as store

router = APIRouter(prefix="/connections", tags=["connections"], responses=ERRORS)
Id = Path(ge=1, le=2**62, description="The connection's id")
PROVIDERS = "infobip, twilio, smtp or sandbox"


class ConnectionCreate(Strict):
    name: str = Field(min_length=1, max_length=200, description="A name people know it by")
    provider: str = Field(max_length=16, description=f"The provider: {PROVIDERS}")
    channels: list[str] | None = Field(
        None,
        max_length=len(CHANNELS),
        description="The channels it carries (default: every channel the provider has)",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The provider's settings (infobip: baseUrl, apiKey; twilio: baseUrl, "
        "accountSid, authToken; smtp: host, port, security, username, password); any "
        "provider: messagesPerSecond. Secrets are write-only.",
    )
    default: bool = Field(
        False, description="Make it the route of its channels for the account (latest wins)"
    )


class ConnectionUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    channels: list[str] | None = Field(None, max_length=len(CHANNELS))
    settings: dict[str, Any] | None = Field(
        None, description="Settings to change (a secret left out is kept; null removes one)"
    )
    default: bool | None = None


@router.post("", status_code=201)
def create_connection(
    body: ConnectionCreate, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    now = ctx.now_micros()
    row = ctx.db.write(
        lambda conn: service.create(
            conn,
            who.account_id,
            name=body.name,
            provider=body.provider,
            channels=body.channels,
            settings=body.settings,
            default=body.default,
            now=now,
            allow_private=ctx.allow_private_urls,
        )
    )
    return service.view(row, ctx.public_url)


@router.get("")
def list_connections(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(admin),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_of(conn, who.account_id, limit=page.limit + 1, offset=page.offset)
    return page_of([service.view(r, ctx.public_url) for r in rows], page)


@router.get("/{connection_id}")
def read_connection(
    connection_id: int = Id, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return service.view(store.read(conn, who.account_id, connection_id), ctx.public_url)


@router.patch("/{connection_id}")
def update_connection(
    body: ConnectionUpdate,
    connection_id: int = Id,
    who: Caller = Depends(admin),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    row = ctx.db.write(
        lambda conn: service.change(
            conn,
            who.account_id,
            connection_id,
            name=body.name,
            channels=body.channels,
            settings=body.settings,
            default=body.default,
            now=now,
            allow_private=ctx.allow_private_urls,
        )
    )
    return service.view(row, ctx.public_url)


@router.delete("/{connection_id}", status_code=204)
def delete_connection(
    connection_id: int = Id, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.remove(conn, who.account_id, connection_id))
    return Response(status_code=204)
