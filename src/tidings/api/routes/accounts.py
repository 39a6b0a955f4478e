"""`/accounts` (admin of the default account) and `/account` (the caller's own settings)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends
from pydantic import Field

from tidings.api.auth import Caller, admin, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, Strict
from tidings.domain.durations import format_micros
from tidings.domain.errors import Forbidden, InvalidInput, Problem, ProblemList
from tidings.domain.prices import check_prices
from tidings.store import accounts as store

router = APIRouter(tags=["accounts"], responses=ERRORS)


class AccountCreate(Strict):
    name: str = Field(min_length=1, max_length=255)
    timezone: str = Field("UTC", max_length=64, description="IANA zone for date functions")


class AccountUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    timezone: str | None = Field(None, max_length=64)
    allowPrivateUrls: bool | None = Field(
        None, description="Let call_api reach private, loopback and link-local addresses"
    )
    prices: dict[str, Any] | None = Field(
        None,
        description='Traffic prices per message part by channel, e.g. {"sms": {"default": '
        '0.05, "HR": 0.04}, "email": 0.001}; a provider\'s reported price replaces them',
    )
    mepSubscription: int | None = Field(
        None,
        ge=0,
        le=10**12,
        description="The monthly engaged persons the subscription includes (0: none set); "
        "the MEP dashboard shows the month's use of it",
    )


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            [Problem("timezone", f"{zone!r} is not an IANA time zone such as Europe/Zagreb")]
        ) from None


def _out(account: store.Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "timezone": account.timezone,
        "allowPrivateUrls": account.allow_private_urls,
        "prices": account.prices or {},
        "createdAt": format_micros(account.created_at),
        "parent": account.parent_id,
        "mepSubscription": account.mep_subscription,
    }


@router.post("/accounts", status_code=201)
def create_account(
    body: AccountCreate, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """Create another account, a sub-account of the caller's (its admin sees the
    sub-account's MEP, never its people or flows), and answer with its first admin key
    (shown only this once)."""
    if who.account_id != store.DEFAULT_ACCOUNT_ID:
        raise Forbidden("only an admin key of the default account may create accounts")
    _check_zone(body.timezone)
    now = ctx.now_micros()

    def write(conn: Any) -> dict[str, Any]:
        account = store.create_account(
            conn, name=body.name, timezone=body.timezone, now=now, parent_id=who.account_id
        )
        key = store.create_key(conn, account_id=account.id, name="first key", admin=True, now=now)
        return {**_out(account), "apiKey": key}

    return ctx.db.write(write)


@router.get("/account")
def read_account(
    who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return _out(store.read_account(conn, who.account_id))


@router.patch("/account")
def update_account(
    body: AccountUpdate, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.timezone is not None:
        _check_zone(body.timezone)
        changes["timezone"] = body.timezone
    if body.allowPrivateUrls is not None:
        changes["allow_private_urls"] = body.allowPrivateUrls
    if body.mepSubscription is not None:
        changes["mep_subscription"] = body.mepSubscription or None
    if body.prices is not None:
        problems = ProblemList()
        table = check_prices(body.prices, problems)
        problems.raise_if_any()
        changes["prices"] = table or None
    return _out(ctx.db.write(lambda conn: store.update_account(conn, who.account_id, changes)))
