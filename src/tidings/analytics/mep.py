"""Monthly engaged persons over an account and its sub-accounts (DESIGN.md, "MEP"), read
from the roll-up (`store/mep.py`): a few counter rows, however many people."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.months import format_month, month_of, parse_month, shift
from tidings.store import mep
from tidings.store.accounts import family, read_account

MONTHS = 3  # the months that can be asked for: the current one and the two before


def asked_month(conn: Connection, account_id: int, month: str | None, now: int) -> int:
    """The month asked for (`2026-11`; None: the current month in the account's zone),
    one of the last `MONTHS` including the current; else InvalidInput naming `month`."""
    zone = ZoneInfo(read_account(conn, account_id).timezone)
    current = month_of(now, zone)
    if month is None:
        return current
    asked = parse_month(month)
    if asked is None:
        raise InvalidInput([Problem("month", f"{month!r} is not a month such as 2026-11")])
    oldest = shift(current, 1 - MONTHS)
    if not oldest <= asked <= current:
        raise InvalidInput(
            [
                Problem(
                    "month",
                    f"only the last {MONTHS} months can be asked for: "
                    f"{format_month(oldest)} to {format_month(current)}",
                )
            ]
        )
    return asked


def engaged_persons(
    conn: Connection, account_id: int, month: str | None, now: int
) -> dict[str, Any]:
    """The month's engaged persons of the account and its sub-accounts: the total, each
    account's (the account first), and `topFlows`: the 10 flows that engaged the most,
    each person counted once, for the flow of their first entry that month. Each account
    counts the month in its own time zone."""
    asked = asked_month(conn, account_id, month, now)
    accounts = family(conn, account_id)
    ids = [a[0] for a in accounts]
    totals = mep.month_totals(conn, ids, asked)
    return {
        "month": format_month(asked),
        "total": sum(totals.values()),
        "accounts": [
            {"id": a_id, "name": name, "total": totals.get(a_id, 0)} for a_id, name, _ in accounts
        ],
        "topFlows": [
            {"flow": flow_id, "name": name, "total": total}
            for flow_id, name, total in mep.top_flows(conn, ids, asked)
        ],
    }
