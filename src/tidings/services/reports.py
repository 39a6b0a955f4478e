"""Reports as files (`/reports`, DESIGN.md "Reports, MEP and SFTP imports"): asking for
one (checked here, built later by the report worker: services/report_worker.py), and
the name its file is downloaded under.

What a report holds is its type's source (services/report_sources.py); how its file
is written, services/report_files.py. The file is kept in the database a MiB a row
(`report_chunks`) rather than in a folder of the server: every serve process of a
PostgreSQL install can answer its download whichever built it, a backup holds it, an
account's delete takes it along, and no folder setting has to agree between processes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from tidings.analytics.mep import asked_month
from tidings.domain.errors import Forbidden, InvalidInput, NotFound, Problem, ProblemList
from tidings.services import report_emails
from tidings.services.report_sources import SOURCES
from tidings.store import flows
from tidings.store import reports as store
from tidings.store.accounts import family

FLOW_TYPES = ("flow", "channels", "participants", "imports")
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def create_report(
    conn: Connection,
    account_id: int,
    *,
    type: str,
    format: str,
    name: str | None,
    flow: int | None,
    version: int | None,
    month: str | None,
    accounts: list[int] | None,
    admin: bool,
    now: int,
    email: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pending report: InvalidInput naming the field at fault, NotFound for a flow the
    account does not have, Forbidden for an MEP report without an admin key (as `GET
    /mep`). `email` (`{"to", "from"}`): emailed when done (services/report_emails.py)."""
    if type == "mep" and not admin:
        raise Forbidden("an MEP report needs an admin key")
    problems = ProblemList()
    if type not in SOURCES:
        problems.add("type", f"{type} reports are not available yet")
    if type in FLOW_TYPES and flow is None:
        problems.add("flow", f"a {type} report needs the flow")
    if version is not None and flow is None:
        problems.add("version", "a version is a version of `flow`: say the flow too")
    if month is not None and not MONTH.match(month):
        problems.add("month", "a month is written YYYY-MM, e.g. 2026-11")
    elif type == "mep" and month is None:
        problems.add("month", "an MEP report needs the month (YYYY-MM)")
    # what a type would not read is refused, not ignored
    if type != "mep":
        if month is not None:
            problems.add("month", "only an MEP report covers a month")
        if accounts is not None:
            problems.add("accounts", "only an MEP report covers accounts")
    elif flow is not None:
        problems.add("flow", "an MEP report covers accounts, not a flow")
    problems.raise_if_any()
    if flow is not None:
        found = flows.read_flow(conn, account_id, flow)  # another account's: NotFound
        if version is not None:
            try:
                flows.read_version(conn, account_id, flow, version)
            except NotFound:
                message = f"flow {flow} has no version {version}"
                raise InvalidInput([Problem("version", message)]) from None
        name = name or f"{type} {found.name}"[:200]
    if type == "mep":
        accounts = _mep_accounts(conn, account_id, month, accounts, now)
    mailed = None if email is None else report_emails.check_email(conn, account_id, email)
    if not name:
        name = f"{type} {month}" if month else f"{type} report"
    request: dict[str, Any] = {"flow": flow, "version": version, "month": month}
    if accounts is not None:
        request["accounts"] = accounts
    created = store.create_report(
        conn,
        account_id,
        type=type,
        name=name,
        format=format,
        request=request,
        now=now,
    )
    if mailed is not None:
        report_emails.create_email(conn, account_id, created["id"], mailed)
        created = store.read_report(conn, account_id, created["id"])
    return created


def _mep_accounts(
    conn: Connection, account_id: int, month: str | None, accounts: list[int] | None, now: int
) -> list[int]:
    """The accounts an MEP report covers: those asked for, each the caller's account or
    one of its sub-accounts (else InvalidInput naming it), or all of them; the month must
    be one `GET /mep` answers (InvalidInput naming `month`)."""
    asked_month(conn, account_id, month, now)
    family_ids = [a[0] for a in family(conn, account_id)]
    if accounts is None:
        return family_ids
    problems = ProblemList()
    for n, other in enumerate(accounts):
        if other not in family_ids:
            problems.add(f"accounts.{n}", "not this account nor one of its sub-accounts")
    problems.raise_if_any()
    return sorted(set(accounts))


def file_name(name: str, format: str) -> str:
    """The report's name as a file name: ASCII letters, digits, spaces, dots, dashes and
    underscores (others become `_`), with the format's extension."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9 ._-]+", "_", plain).strip(" ._") or "report"
    extension = f".{format}"
    return safe[:150] if safe.lower().endswith(extension) else f"{safe[:150]}{extension}"


def content_disposition(name: str, format: str) -> str:
    """An attachment named after the report: the ASCII name, and the name as given
    (RFC 6266 `filename*`) for a program that reads it."""
    ascii_name = file_name(name, format)
    full = name if name.lower().endswith(f".{format}") else f"{name}.{format}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full, safe='')}"
