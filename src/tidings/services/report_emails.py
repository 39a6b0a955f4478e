"""Reports emailed when they are done (`POST /reports` with `email`; issue #17).

- **Asking** (`check_email`, in `create_report`'s write): 1 to 10 addresses (each checked
  with email-validator, a bad one named `email.to.{i}`), through the account's email
  connection: its default route for email (domain/routes.py) when that is a real
  provider, else its most recent `smtp` or `infobip` connection carrying email. None:
  422 naming `email` (connect an email provider first). The sender is `from`, or the
  connection's default sender: an SMTP connection's `username` when it is an address
  (the mailbox the server lets it send as); otherwise `from` is required (`email.from`).
- **Sending** (`ReportMailer`, a step of the report worker's thread): when the report is
  ready or failed its email is due; the mailer claims it, builds the email (`compose`: a
  download link `{public URL}/r/{token}` valid 7 days, domain/report_links.py, or the
  reason it failed) and hands one copy per address (no reader sees the others'
  addresses), in one batch, to the connection's provider itself (`make_provider`: SMTP
  transactions, or Infobip's `/email/3/send`), never through the flow outbox, so no
  flow's figures or MEP count it. Per address: `accepted` -> sent; `failed` -> failed
  with the provider's words; `retry` -> tried again after 1, 4 and 16 s (only the
  addresses not done), then failed. The email is `sent` when every copy went, else
  `failed` naming the addresses that did not get it. The report itself is never failed
  by its email. Connection secrets never reach a reason or a log line (the providers
  scrub their own; here only an error's kind is logged).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Connection

from tidings.channels import ApiClient, CallApi
from tidings.channels.providers import Outgoing, SendResult, Webhooks
from tidings.channels.registry import make_provider
from tidings.clock import Clock
from tidings.domain import report_links
from tidings.domain.durations import from_micros, to_micros
from tidings.domain.errors import InvalidInput, NotFound, Problem, ProblemList
from tidings.domain.people import normalize_email
from tidings.domain.routes import Routes
from tidings.store import connections, report_emails, secrets
from tidings.store import reports as reports_store
from tidings.store.accounts import read_account
from tidings.store.connections import ConnectionRow
from tidings.store.database import Database

log = logging.getLogger("tidings.reports")
MICROS = 1_000_000
MAX_RECIPIENTS = 10
EMAIL_PROVIDERS = ("smtp", "infobip")
ID_PREFIX = "report-"  # a report email's message id at the provider: never an outbox id
RETRY_SECONDS = (1.0, 4.0, 16.0)  # waits before the 2nd, 3rd and 4th (last) attempt
NO_CONNECTION = (
    "this account has no email connection: connect an email provider first "
    "(POST /connections with provider smtp or infobip and channel email)"
)


# --- asking -----------------------------------------------------------------------------


def _sends_email(row: ConnectionRow | None) -> bool:
    return row is not None and row.provider in EMAIL_PROVIDERS and "email" in row.channels


def email_connection(conn: Connection, account_id: int) -> ConnectionRow | None:
    """The connection a report of the account is emailed through (see the module doc)."""
    rows = connections.of_account(conn, account_id)
    real = [r for r in rows if _sends_email(r)]
    if not real:
        return None
    routes = Routes.of((r.id, r.account_id, r.provider, r.channels, r.default_since) for r in rows)
    chosen = routes.route(account_id, "email")
    for row in real:
        if row.id == chosen:
            return row
    return max(real, key=lambda r: r.id)


def default_sender(connection: ConnectionRow) -> str | None:
    """The sender a connection sends as when none is said: an SMTP login that is an
    address; None otherwise."""
    if connection.provider != "smtp":
        return None
    username = connection.settings.get("username")
    if not isinstance(username, str) or "@" not in username:
        return None
    try:
        return normalize_email(username)
    except ValueError:
        return None


def check_email(conn: Connection, account_id: int, email: dict[str, Any]) -> dict[str, Any]:
    """`{"to", "from", "connection"}` for a report's `email` (`{"to": [...], "from"?}`),
    or InvalidInput naming the field at fault."""
    problems = ProblemList()
    recipients: list[str] = []
    to = email.get("to") or []
    if not 1 <= len(to) <= MAX_RECIPIENTS:
        problems.add("email.to", f"say 1 to {MAX_RECIPIENTS} addresses")
    for n, address in enumerate(to):
        try:
            normalized = normalize_email(address)
        except ValueError as exc:
            problems.add(f"email.to.{n}", str(exc))
            continue
        if normalized.lower() not in {r.lower() for r in recipients}:
            recipients.append(normalized)
    sender: str | None = None
    if email.get("from") is not None:
        try:
            sender = normalize_email(email["from"])
        except ValueError as exc:
            problems.add("email.from", str(exc))
    problems.raise_if_any()
    connection = email_connection(conn, account_id)
    if connection is None:
        raise InvalidInput([Problem("email", NO_CONNECTION)])
    if sender is None:
        sender = default_sender(connection)
        if sender is None:
            message = (
                f"connection {connection.id} ({connection.name}) has no default sender: "
                "say the sender's address in `from`"
            )
            raise InvalidInput([Problem("email.from", message)])
    return {"to": recipients, "from": sender, "connection": connection.id}


def create_email(
    conn: Connection, account_id: int, report_id: int, checked: dict[str, Any]
) -> None:
    report_emails.create(
        conn,
        account_id,
        report_id,
        recipients=checked["to"],
        sender=checked["from"],
        connection_id=checked["connection"],
    )


# --- the email --------------------------------------------------------------------------


def label(report: dict[str, Any]) -> str:
    """`<type> <name>`, without saying the type twice (a default name starts with it)."""
    name, kind = str(report["name"]), str(report["type"])
    return name if name.lower().startswith(f"{kind} ") else f"{kind} {name}"


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def compose(report: dict[str, Any], link: str | None, expires_at: int | None) -> dict[str, str]:
    """The email's `{"subject", "html", "text"}` for a ready report (with its download
    link, valid until `expires_at`) or a failed one (its reason, no link)."""
    what = label(report)
    shown = html.escape(what)
    if report["status"] == "ready" and link is not None and expires_at is not None:
        until = from_micros(expires_at).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        rows = report.get("rows")
        facts = f"{report['format'].upper()}, {rows} rows, {_size(report.get('size'))}"
        return {
            "subject": f"Your Tidings report: {what} is ready",
            "html": (
                '<!doctype html><html><body style="font-family:sans-serif">'
                f"<p>Your report <strong>{shown}</strong> is ready ({html.escape(facts)}).</p>"
                f'<p><a href="{html.escape(link)}">Download the report</a></p>'
                f'<p style="color:#666666;font-size:12px">The link works until {until}; '
                "after that, download the report from Tidings with an API key.</p>"
                "</body></html>"
            ),
            "text": (
                f"Your report {what} is ready ({facts}).\n\n"
                f"Download it: {link}\n\n"
                f"The link works until {until}; after that, download the report from "
                "Tidings with an API key.\n"
            ),
        }
    reason = str(report.get("reason") or "unknown")
    return {
        "subject": f"Your Tidings report: {what} failed",
        "html": (
            '<!doctype html><html><body style="font-family:sans-serif">'
            f"<p>Your report <strong>{shown}</strong> could not be made: "
            f"{html.escape(reason)}</p><p>Ask for it again in Tidings.</p></body></html>"
        ),
        "text": f"Your report {what} could not be made: {reason}\n\nAsk for it again in Tidings.\n",
    }


# --- sending ----------------------------------------------------------------------------


def _wall() -> int:
    return int(time.time() * MICROS)


@dataclass(frozen=True)
class _Prepared:
    report: dict[str, Any]
    connection: ConnectionRow | None
    allow_private: bool


class ReportMailer:
    """Sends the due emails of reports, one at a time, in the caller's thread (the
    report worker's). `http` makes the HTTP client Infobip sends through (None: the
    real `CallApi`, with the private-address guard)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        public_url: str,
        allow_private: bool = False,
        http: Callable[[], ApiClient] | None = None,
        lease_seconds: float = 120.0,
        retry_seconds: Sequence[float] = RETRY_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.allow_private = allow_private
        self._http = http
        self.lease = int(lease_seconds * MICROS)
        self.retry_seconds = tuple(retry_seconds)
        self._key: bytes | None = None

    def key(self) -> bytes:
        if self._key is None:
            self._key = self.db.write(lambda conn: secrets.secret(conn, secrets.REPORT_LINKS))
        return self._key

    def work_once(self) -> bool:
        """Send one due email, if any; answers whether there was one."""
        wall = _wall()
        with self.db.read() as conn:
            if not report_emails.has_due(conn, wall):
                return False
        claimed = self.db.write(lambda conn: report_emails.claim(conn, wall, lease=self.lease))
        if claimed is not None:
            self.send(claimed)
        return True

    def send(self, claimed: report_emails.ClaimedEmail) -> None:
        report_id = claimed.report_id
        try:
            prepared = self._prepare(claimed)
        except NotFound:  # the report was deleted meanwhile (its row with it)
            return
        outcomes = dict(claimed.outcomes)
        left = [a for a in claimed.recipients if a not in outcomes]
        results: dict[str, SendResult] = {}
        if prepared.connection is None:
            results = {a: SendResult(a, "failed", NO_CONNECTION) for a in left}
        elif left:
            results = self._deliver(claimed, prepared, left)
        again = claimed.attempts <= len(self.retry_seconds)
        retry_reason = ""
        for address_, result in results.items():
            if result.status == "accepted":
                outcomes[address_] = {"status": "sent", "reason": None}
            elif result.status == "failed" or not again:
                outcomes[address_] = {"status": "failed", "reason": result.reason or "not sent"}
            else:
                retry_reason = result.reason or "the provider asked to try again"
        if retry_reason:
            due = _wall() + int(self.retry_seconds[claimed.attempts - 1] * MICROS)
            self.db.write(
                lambda conn: report_emails.send_again(
                    conn, report_id, outcomes=outcomes, due_at=due, reason=retry_reason
                )
            )
            return
        failed = [(a, o["reason"]) for a, o in outcomes.items() if o["status"] == "failed"]
        status = "failed" if failed else "sent"
        reason = None
        if failed:
            reason = "; ".join(f"not sent to {a}: {why}" for a, why in failed)
            if len(failed) < len(claimed.recipients):
                reason += " (sent to the others)"
        now = to_micros(self.clock.now())
        self.db.write(
            lambda conn: report_emails.finish(
                conn, report_id, status=status, outcomes=outcomes, reason=reason, now=now
            )
        )

    def _prepare(self, claimed: report_emails.ClaimedEmail) -> _Prepared:
        account_id = claimed.account_id
        with self.db.read() as conn:
            report = reports_store.read_report(conn, account_id, claimed.report_id)
            connection: ConnectionRow | None = None
            if claimed.connection_id is not None:
                try:
                    connection = connections.read(conn, account_id, claimed.connection_id)
                except NotFound:
                    connection = None
            if not _sends_email(connection):  # deleted or changed since: the route now
                connection = email_connection(conn, account_id)
            private = read_account(conn, account_id).allow_private_urls
        return _Prepared(report, connection, self.allow_private or private)

    def _deliver(
        self, claimed: report_emails.ClaimedEmail, prepared: _Prepared, recipients: list[str]
    ) -> dict[str, SendResult]:
        """One copy of the email to each of `recipients` (no one sees the others'
        addresses), in one batch through the provider: each address's result."""
        connection = prepared.connection
        assert connection is not None
        report = prepared.report
        link = expires = None
        if report["status"] == "ready":
            now = to_micros(self.clock.now())
            token = report_links.issue(claimed.account_id, claimed.report_id, now, self.key())
            link = f"{self.public_url}/r/{token}"
            expires = now + report_links.LIFETIME
        content = compose(report, link, expires)
        sender = claimed.sender or default_sender(connection)
        if sender is None:
            no_sender = "the email connection has no default sender"
            return {a: SendResult(a, "failed", no_sender) for a in recipients}
        # the same id on every try (a Message-ID, Infobip's messageId): de-duplicated
        batch = [
            Outgoing(
                id=f"{ID_PREFIX}{claimed.report_id}-{claimed.recipients.index(a)}",
                channel="email",
                to=a,
                sender=sender,
                content=content,
            )
            for a in recipients
        ]
        base = f"{self.public_url}/api/v1/webhooks/{connection.webhook_token}"
        webhooks = Webhooks(delivery=f"{base}/delivery", inbound=f"{base}/inbound")
        try:
            answers = asyncio.run(self._send(connection, prepared.allow_private, batch, webhooks))
        except Exception as exc:  # a provider that raised: its kind only (no secret)
            kind = type(exc).__name__
            log.warning("report %s: the email could not be sent (%s)", claimed.report_id, kind)
            answers = [SendResult(o.id, "retry", f"the provider failed ({kind})") for o in batch]
        by_id = {r.id: r for r in answers}
        missing = SendResult("", "retry", "the provider did not answer for this address")
        return {o.to: by_id.get(o.id, missing) for o in batch}

    async def _send(
        self,
        connection: ConnectionRow,
        allow_private: bool,
        batch: list[Outgoing],
        webhooks: Webhooks,
    ) -> list[SendResult]:
        http = self._http() if self._http is not None else CallApi(allow_private=allow_private)
        try:
            try:
                provider = make_provider(
                    connection.provider, connection.settings, http=http, allow_private=allow_private
                )
            except Exception:  # settings that no longer validate
                reason = f"connection {connection.id} cannot be used: its settings are not valid"
                return [SendResult(o.id, "failed", reason) for o in batch]
            try:
                results: list[SendResult] = []
                for start in range(0, len(batch), provider.max_batch):
                    part = batch[start : start + provider.max_batch]
                    results += await provider.send(part, webhooks)
                return results
            finally:
                await provider.aclose()
        finally:
            await http.aclose()
