"""`/keys`: the caller's account's API keys (admin keys only; DESIGN.md, "Keys")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from tidings.api.auth import Caller, admin
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, Strict
from tidings.services import keys as service

router = APIRouter(prefix="/keys", tags=["accounts"], responses=ERRORS)
KeyId = Path(ge=1, le=2**62, description="The key's id")


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=255, description="A label for the key")
    admin: bool = Field(
        False,
        description="An admin key also manages the account, its keys, connections and "
        "sub-accounts and reads MEP; other keys read and write people, events and flows",
    )


@router.post("", status_code=201)
def create_key(
    body: KeyCreate, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """A new key of the caller's account; `key` is its secret, answered only this once."""
    now = ctx.now_micros()
    created: dict[str, Any] = ctx.db.write(
        lambda conn: service.create_key(
            conn, who.account_id, name=body.name, admin=body.admin, now=now
        )
    )
    return created


@router.get("")
def list_keys(who: Caller = Depends(admin), ctx: AppContext = Depends(context)) -> dict[str, Any]:
    """The account's keys, without their secrets."""
    with ctx.db.read() as conn:
        return {"items": service.list_keys(conn, who.account_id)}


@router.delete("/{key_id}", status_code=204)
def revoke_key(
    key_id: int = KeyId, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> Response:
    """Revoke a key: calls with it get 401 from now on. An account keeps its last admin
    key (409)."""
    ctx.db.write(lambda conn: service.revoke_key(conn, who.account_id, key_id))
    ctx.forget_key(key_id)
    return Response(status_code=204)
