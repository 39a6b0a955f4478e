"""Bearer-key authentication: every call but /health names its account by its key."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidings.api.context import AppContext, context
from tidings.domain.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tdk_...`")


@dataclass(frozen=True)
class Caller:
    account_id: int
    admin: bool


async def caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: AppContext = Depends(context),
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    owner = ctx.authenticate(credentials.credentials)
    if owner is None:
        raise Unauthorized("the API key is not valid")
    return Caller(owner.account_id, owner.admin)


async def admin(who: Caller = Depends(caller)) -> Caller:
    if not who.admin:
        raise Forbidden("this call needs an admin key")
    return who
