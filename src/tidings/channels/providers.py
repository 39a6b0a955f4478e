"""The provider seam: what a connection's provider is asked to do, and what it answers.

A **provider** (`infobip`, `twilio`, `smtp`; the sandbox is the store's own table, see
AGENTS.md) does three things, all without touching the database:

- `send(batch, webhooks)`: hand messages to the provider. Several go in one request where
  the provider takes a list (`max_batch`). Every message carries its outbox id (`id`),
  which is the provider's message id or idempotency key wherever the provider has one, so
  a batch sent twice after a crash is one message at a provider that de-duplicates. The
  answer is one `SendResult` per message, in batch order, and never an exception for
  network or protocol trouble: `accepted`, `failed` (permanent, with the provider's
  reason) or `retry` (a timeout, a 429 or a 5xx; `retry_after` from the answer's
  `Retry-After` when it had one). The dispatcher retries with backoff and jitter.
- `delivery_reports(callback)`: the reports in a delivery callback, in the provider's own
  format, as `Report`s keyed by our outbox id. A callback that is malformed, or forged
  (a provider that signs, Twilio, checks the signature here), raises `CallbackRefused`
  naming the field; the webhook answers it with a 4xx and changes nothing.
- `inbound_messages(callback)`: the messages in an inbound callback, as `Inbound`s.
- optionally `callback_answer(callback) -> (body, content type) | None`: what the provider
  must be answered instead of the webhook's JSON (Twilio's TwiML to a `<Gather>` action).

Providers are made by `make_provider(connection, http)` in the composition root's
providers; HTTP providers send through the `call_api` client (`ApiClient`), so they pass
the same private-address guard, DNS pinning and body bounds as `call_api`. Secrets
(`apiKey`, `authToken`, `password`) are never logged and never part of a `reason`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

from tidings.domain.durations import parse_duration

CHANNELS = ("sms", "email", "whatsapp", "viber", "voice")
Channel = Literal["sms", "email", "whatsapp", "viber", "voice"]


@dataclass(frozen=True, slots=True)
class Webhooks:
    """Where the provider posts back for this connection (full URLs under
    `TIDINGS_PUBLIC_URL`): `/api/v1/webhooks/{token}/delivery` and `/inbound`."""

    delivery: str
    inbound: str


class Outgoing(NamedTuple):
    """One message to send (a named tuple: immutable, and made a million times a launch at
    half a frozen dataclass's cost).

    `content` is what the flow element rendered, by channel:
    - sms: `{"text"}`
    - email: `{"subject", "html"?, "text"?, "replyTo"?}`. Links are already rewritten for
      tracking, the open pixel and the visible unsubscribe link are already in the body:
      a provider only adds the `List-Unsubscribe` headers from `unsubscribe_url`.
    - whatsapp: `{"text"}` or `{"template": {"name", "language", "params": [str]}}`
    - viber: `{"text"?, "image"?, "button"?: {"text", "url"}}`
    - voice: `{"say", "language"?, "collect"?: {"maxDigits", "timeout"}}`
    - a price to ask for (`Report.price_later`): `{"priceOf": {"id": provider's id,
      "message": our id}}`: the provider answers `accepted` with `price`, or `retry`
      while it has not priced it yet
    """

    id: str  # the outbox id: message id, idempotency key, part of the email Message-ID
    channel: str
    to: str
    sender: str
    content: Mapping[str, Any]
    parts: int = 1
    unsubscribe_url: str | None = None  # email: List-Unsubscribe and the visible link
    # An earlier try may have reached the provider (its answer was never settled: a
    # crash), at the earliest at this time (seconds since the epoch): a provider that
    # de-duplicates nothing looks it up before sending again (Twilio).
    unknown_since: float | None = None


def collect_seconds(value: Any) -> int:
    """A voice call's `collect.timeout` (an ISO 8601 duration, or seconds) as the whole
    seconds providers take, at least 1; ValueError naming the field when it is not one."""
    if isinstance(value, bool):
        raise ValueError("collect.timeout must be a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError as exc:
            raise ValueError(f"collect.timeout: {exc}") from None
    else:
        raise ValueError("collect.timeout must be a duration")
    if seconds != seconds or seconds == float("inf"):
        raise ValueError("collect.timeout must be a duration")
    return max(1, math.ceil(seconds))


class SendResult(NamedTuple):
    """The provider's answer for one message of a batch (a named tuple, as `Outgoing`)."""

    id: str
    # `later`: never handed to the provider (the dispatcher's own answer, not a
    # provider's: a paced connection had no turn for it within its claim's lease)
    status: Literal["accepted", "failed", "retry", "later"]
    reason: str | None = None  # the provider's words, for failed and retry
    provider_id: str | None = None  # the provider's own id when it is not ours (Twilio SID)
    retry_after: float | None = None  # seconds, from a Retry-After answer
    price: float | None = None  # when the provider prices at once


# `unsubscribed`: the person opted out through the provider (an email's unsubscribe or
# spam complaint reported by the provider)
ReportStatus = Literal["pending", "delivered", "failed", "seen", "clicked", "unsubscribed"]


class Report(NamedTuple):
    """One report from a delivery callback (a named tuple, as `Outgoing`: a million of
    them come back for a launch of a million).

    `pending` is not final (Infobip DELIVERED_TO_OPERATOR or PENDING, Twilio queued/sent)
    and changes nothing but the price. A voice call reports `delivered` when answered,
    `failed` when not, and the digits it collected in `digits`."""

    message_id: str  # our outbox id
    status: ReportStatus
    reason: str | None = None
    price: float | None = None  # per message, as the provider billed it
    currency: str | None = None
    digits: str | None = None  # voice: what the person keyed in
    url: str | None = None  # clicked: which link
    # The provider prices the message only later (Twilio's calls, once they end): its id
    # of what to ask the price of; the dispatcher asks (`price_of` content, below).
    price_later: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message (or an inbound call) someone sent to one of the account's numbers."""

    channel: str
    sender: str  # their number (E.164 when the provider gives it so)
    to: str  # our number or sender id
    text: str
    provider_id: str | None = None  # the provider's id of the message, for de-duplication


@dataclass(frozen=True, slots=True)
class Callback:
    """A provider's request to one of our webhooks, as it arrived."""

    url: str  # as the provider addressed it: under TIDINGS_PUBLIC_URL (Twilio signs it)
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


class CallbackRefused(Exception):
    """A callback that is malformed or forged: answered with `status`, changes nothing."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


class Provider(Protocol):
    """What the dispatcher and the webhooks need of a provider."""

    name: ClassVar[str]
    channels: ClassVar[frozenset[str]]
    max_batch: ClassVar[int]  # messages in one request

    async def send(self, batch: Sequence[Outgoing], webhooks: Webhooks) -> list[SendResult]: ...

    def delivery_reports(self, callback: Callback) -> list[Report]: ...

    def inbound_messages(self, callback: Callback) -> list[Inbound]: ...

    async def aclose(self) -> None: ...
