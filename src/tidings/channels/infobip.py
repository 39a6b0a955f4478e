"""Infobip: SMS, WhatsApp, Viber, voice and email in Infobip's own wire formats.

Every request carries `Authorization: App {apiKey}` and goes through the injected `ApiClient`
(`CallApi`: private-address guard, DNS pinning, timeouts, bounded bodies) with `retries=0`:
the dispatcher retries. The outbox id is Infobip's `messageId` everywhere, so a batch sent
twice after a crash is one message at Infobip, and every report comes back keyed by it.
Field names follow Infobip's OpenAPI specification (as generated into
infobip-api-java-client 6.x: `SmsRequest`, `WhatsAppTextMessage`, `ViberRequest`,
`CallsAdvancedBody`, `EmailApi.sendEmail`, and the webhook models).

Sending, by channel:

- **sms**: `POST /sms/3/messages`, up to `max_batch` messages in one request:
  `{"messages": [{"sender", "destinations": [{"to", "messageId"}], "content": {"text"},
  "webhooks": {"delivery": {"url"}, "contentType": "application/json"}}]}`.
- **whatsapp** text: `POST /whatsapp/1/message/text`, one message per request: `{"from",
  "to", "messageId", "content": {"text"}, "notifyUrl"}`. Template: `POST
  /whatsapp/1/message/template`, a list: `{"messages": [{"from", "to", "messageId",
  "content": {"templateName", "templateData": {"body": {"placeholders": [...]}},
  "language"}, "notifyUrl"}]}`.
- **viber**: `POST /viber/2/messages`, a list like SMS's; `content` is `{"type": "TEXT",
  "text", "button"?: {"title", "action"}}` or `{"type": "IMAGE", "mediaUrl", "text"?,
  "button"?}`; `webhooks.delivery.url` and `webhooks.seen.url` are both our delivery
  webhook, so "seen" reports arrive too.
- **voice**: `POST /tts/3/advanced`, a list: `{"messages": [{"from", "destinations": [{"to",
  "messageId"}], "text", "language", "notifyUrl", "notifyContentType", "maxDtmf"?,
  "dtmfTimeout"?}]}`. Collecting digits uses the advanced text-to-speech options
  `maxDtmf` / `dtmfTimeout` rather than the IVR API: `/voice/ivr/1/messages` only launches
  a scenario created beforehand (`/voice/ivr/1/scenarios`) and named by id, so every
  `voice_call` element would need a scenario kept in sync at Infobip; advanced TTS says the
  text and collects up to `maxDtmf` keys in the same call, and the voice report carries them
  in `voiceCall.dtmfCodes`, as an IVR report does.
- **voice on a live inbound call** (content `call`): the Calls API, `/calls/1/calls/{callId}/
  answer | say | capture/dtmf | hangup` (infobip_calls.py), one request per message.
- **email**: `POST /email/3/send`, `multipart/form-data`, one email per request: `from`,
  `to`, `subject`, `html`, `text`, `replyTo`, `messageId`, `notifyUrl`,
  `notifyContentType=application/json`, `track=false` (Tidings rewrites links and adds the
  pixel itself), and `headers` (a JSON object, Infobip's documented way to set custom
  headers) with `List-Unsubscribe` / `List-Unsubscribe-Post` when `unsubscribe_url` is set.
  `ApiRequest.body` is text: the multipart body is built here as UTF-8 text with CRLF line
  ends (RFC 7578 form fields may carry UTF-8 as is).

Phone numbers go out as Infobip documents them (international format, digits only: the
leading `+` is dropped). Answers: a 2xx maps each message by `messageId` through its
`status.groupName`: PENDING / ACCEPTED / DELIVERED are `accepted`, REJECTED / UNDELIVERABLE /
EXPIRED are `failed` with the status name and description (except
REJECTED_DUPLICATE_MESSAGE_ID: that message is already at Infobip, so `accepted`); a 2xx
that names no status for a message is `accepted` (the request was taken). 408, 429 and 5xx
are `retry` (`retry_after` from `Retry-After`), as are timeouts and connection errors; other
answers are `failed` with Infobip's words (`requestError.serviceException.text`, or the newer
`description` / `violations` shape). A URL the guard refuses is `failed`. The API key never
appears in a reason.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tidings.channels.answering import ApiClient
from tidings.channels.call_api import ApiRequest, ApiResult
from tidings.channels.infobip_calls import (
    CallActionInvalid,
    CallEvent,
    call_events,
    call_request,
    is_call_action,
)
from tidings.channels.infobip_wire import (
    ALL_ACCEPTED,
    DUPLICATE,
    FAILED_GROUPS,
    plain_reports,
    read_answer,
    report_status,
)
from tidings.channels.json_text import loads as json_loads
from tidings.channels.providers import (
    Callback,
    CallbackRefused,
    Inbound,
    Outgoing,
    Report,
    SendResult,
    Webhooks,
    collect_seconds,
)

SECRETS = frozenset({"apiKey"})

SMS_PATH = "/sms/3/messages"
WHATSAPP_TEXT_PATH = "/whatsapp/1/message/text"
WHATSAPP_TEMPLATE_PATH = "/whatsapp/1/message/template"
VIBER_PATH = "/viber/2/messages"
VOICE_PATH = "/tts/3/advanced"
EMAIL_PATH = "/email/3/send"

JSON = "application/json"
# Requests sent at once for the channels Infobip takes one message per request (email,
# WhatsApp text); the HTTP client's own pool bounds connections below this.
_PARALLEL = 32
_REASON_LIMIT = 500
_ACCEPTED_GROUPS = frozenset({"PENDING", "ACCEPTED", "DELIVERED"})
# Failures before anything was sent that the same request will meet again (call_api's words).
_FINAL_ERRORS = ("refused", "invalid URL", "invalid request")


class InfobipSettings(BaseModel):
    """An Infobip connection's settings, as `POST /connections` takes them (camelCase):
    `baseUrl` is the account's personal base URL (`https://xxxxx.api.infobip.com`)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    base_url: str = Field(alias="baseUrl", min_length=1, max_length=2000)
    api_key: SecretStr = Field(alias="apiKey", min_length=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http or https URL")
        if parsed.query or parsed.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.rstrip("/")


class _Invalid(ValueError):
    """A message whose content Infobip cannot take: `failed` without a request."""


# the paths that take a list of messages (`{"messages": [...]}`), answered in one list
_BATCHED = frozenset({SMS_PATH, WHATSAPP_TEMPLATE_PATH, VIBER_PATH, VOICE_PATH})


@dataclass(frozen=True, slots=True)
class _Job:
    """One request to Infobip and the batch positions of the messages it carries."""

    path: str
    body: str
    content_type: str
    items: tuple[tuple[int, Outgoing], ...]


class InfobipProvider:
    """Sends through one Infobip account and reads its callbacks (see the module doc)."""

    name: ClassVar[str] = "infobip"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "whatsapp", "viber", "voice", "email"})
    max_batch: ClassVar[int] = 1000

    def __init__(
        self,
        settings: InfobipSettings,
        http: ApiClient,
        *,
        allow_private: bool,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._base = settings.base_url
        self._key = settings.api_key.get_secret_value()
        self._http = http
        self._allow_private = allow_private
        self._timeout = timeout_seconds

    async def aclose(self) -> None:
        """Nothing of its own to close: the `ApiClient` belongs to the composition root."""

    # --- sending ---

    async def send(self, batch: Sequence[Outgoing], webhooks: Webhooks) -> list[SendResult]:
        """One `SendResult` per message, in batch order; never raises for I/O trouble."""
        results: list[SendResult | None] = [None] * len(batch)
        lists: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        singles: list[_Job] = []
        for index, message in enumerate(batch):
            try:
                kind, built = self._build(message, webhooks)
            except _Invalid as exc:
                results[index] = SendResult(message.id, "failed", reason=str(exc))
                continue
            if kind in _BATCHED:
                lists.setdefault(kind, []).append((index, built))
            else:
                singles.append(self._single(kind, index, message, built))
        jobs: list[_Job] = []
        for path, entries in lists.items():
            for start in range(0, len(entries), self.max_batch):
                chunk = entries[start : start + self.max_batch]
                body = _dumps({"messages": [built for _, built in chunk]})
                items = tuple((index, batch[index]) for index, _ in chunk)
                jobs.append(_Job(path, body, JSON, items))
        limit = asyncio.Semaphore(_PARALLEL)

        async def bounded(job: _Job) -> list[tuple[int, SendResult]]:
            async with limit:
                return await self._run(job)

        runs: list[Awaitable[list[tuple[int, SendResult]]]] = [self._run(job) for job in jobs]
        runs += [bounded(job) for job in singles]
        for answered in await asyncio.gather(*runs):
            for index, result in answered:
                results[index] = result
        return [
            result if result is not None else SendResult(batch[i].id, "retry", reason="not sent")
            for i, result in enumerate(results)
        ]

    def _build(self, message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
        """The endpoint and Infobip's shape of one message (a form's fields for email)."""
        if is_call_action(message):  # a live inbound call (infobip_calls.py)
            try:
                return call_request(message)
            except CallActionInvalid as exc:
                raise _Invalid(str(exc)) from None
        builder = _BUILDERS.get(message.channel)
        if builder is None:
            raise _Invalid(f"infobip does not send {message.channel!r} messages")
        return builder(message, webhooks)

    def _single(self, path: str, index: int, message: Outgoing, built: dict[str, Any]) -> _Job:
        if path == EMAIL_PATH:
            body, content_type = _multipart(built)
            return _Job(path, body, content_type, ((index, message),))
        return _Job(path, _dumps(built), JSON, ((index, message),))

    async def _run(self, job: _Job) -> list[tuple[int, SendResult]]:
        request = ApiRequest(
            "POST",
            self._base + job.path,
            {"Authorization": f"App {self._key}", "Content-Type": job.content_type, "Accept": JSON},
            job.body,
            timeout_seconds=self._timeout,
            retries=0,
            idempotency_key=job.items[0][1].id if len(job.items) == 1 else "",
            read=read_answer if job.path in _BATCHED else None,
        )
        try:
            result = await self._http.call(request, allow_private=self._allow_private)
        except Exception as exc:  # an ApiClient never raises; a send must not either
            reason = self._clean(f"request failed: {type(exc).__name__}")
            return [(i, SendResult(m.id, "retry", reason=reason)) for i, m in job.items]
        return self._answer(result, job.items)

    def _answer(
        self, result: ApiResult, items: Sequence[tuple[int, Outgoing]]
    ) -> list[tuple[int, SendResult]]:
        status = result.status
        if status is None:
            error = self._clean(result.error or "no answer")
            final = error.startswith(_FINAL_ERRORS) or "certificate not trusted" in error
            verdict: Literal["failed", "retry"] = "failed" if final else "retry"
            return [(i, SendResult(m.id, verdict, reason=error)) for i, m in items]
        if 200 <= status < 300:
            body = result.data.get("body")
            if body is ALL_ACCEPTED:  # `read_answer`: no failure named
                return [(i, SendResult(m.id, "accepted")) for i, m in items]
            call = bool(items) and is_call_action(items[0][1])
            if call and isinstance(body, dict) and body.get("status") == "FAILED":
                reason = "the call action FAILED"  # CallsActionStatus FAILED
                return [(i, SendResult(m.id, "failed", reason=reason)) for i, m in items]
            return self._per_message(body, items)
        words = _error_words(result.data.get("body"))
        reason = self._clean(
            f"HTTP {status}: {words}" if words else result.error or f"HTTP {status}"
        )
        if status in (408, 429) or status >= 500:
            after = retry_after(result.data.get("headers", {}).get("retry-after"))
            return [
                (i, SendResult(m.id, "retry", reason=reason, retry_after=after)) for i, m in items
            ]
        return [(i, SendResult(m.id, "failed", reason=reason)) for i, m in items]

    def _per_message(
        self, body: Any, items: Sequence[tuple[int, Outgoing]]
    ) -> list[tuple[int, SendResult]]:
        statuses: dict[str, Any] = {}
        if isinstance(body, dict):
            answers = body.get("messages")
            if isinstance(answers, list):
                for answer in answers:
                    if isinstance(answer, dict) and isinstance(answer.get("messageId"), str):
                        statuses[answer["messageId"]] = answer.get("status")
            elif isinstance(body.get("messageId"), str):  # WhatsApp text: one message, flat
                statuses[body["messageId"]] = body.get("status")
        out: list[tuple[int, SendResult]] = []
        for index, message in items:
            status = statuses.get(message.id)
            if not isinstance(status, dict):
                out.append((index, SendResult(message.id, "accepted")))
                continue
            group, name = status.get("groupName"), status.get("name")
            if group in FAILED_GROUPS and name != DUPLICATE:
                reason = self._clean(_status_words(status))
                out.append((index, SendResult(message.id, "failed", reason=reason)))
            else:
                out.append((index, SendResult(message.id, "accepted")))
        return out

    def _clean(self, text: str) -> str:
        """A reason fit to store: never the API key, never unbounded."""
        if self._key:
            text = text.replace(self._key, "***")
        return text[:_REASON_LIMIT]

    # --- callbacks ---

    def delivery_reports(self, callback: Callback) -> list[Report]:
        """The reports in a delivery callback, keyed by our outbox id (Infobip's messageId).

        Statuses (`status.groupName`, `status.name`): DELIVERED is `delivered` except
        DELIVERED_TO_OPERATOR (the operator has it, the handset may not), which is `pending`
        like PENDING and ACCEPTED; UNDELIVERABLE, EXPIRED and REJECTED are `failed`, with the
        error's (else the status's) description as the reason. A group Infobip does not
        document is mapped conservatively to `pending` (it changes nothing but the price), so
        one odd report cannot make Infobip retry a whole bucket. A result without `status`
        but with `seenAt` is a WhatsApp / Viber "seen" report. An email tracking event
        (`notificationType` OPENED / CLICKED) is `seen` / `clicked` with the `url`;
        LATE_BOUNCE is `failed`; COMPLAINED and UNSUBSCRIBED are `unsubscribed` (the person is
        taken off email); other events carry nothing a `Report` can
        say and yield no report. Voice: answered calls come as DELIVERED_TO_HANDSET
        (`delivered`), unanswered, busy or failed ones as UNDELIVERABLE (`failed`); the digits
        are `voiceCall.dtmfCodes` (or `voiceCall.ivr.collectedDtmfs`, or the deprecated
        top-level `dtmfCodes`); a voice price is `pricePerSecond` x `chargedDuration`.
        A price in currency UNKNOWN is no price.

        Infobip does not sign callbacks: the unguessable token in the webhook URL is the
        authentication (checked by the webhook). Anything malformed raises `CallbackRefused`
        naming the field.
        """
        _check_media(callback)
        plain = plain_reports(callback.body)  # the commonest shape, decoded fast
        return plain if plain is not None else read_reports(callback.body)

    def call_events(self, callback: Callback) -> list[CallEvent] | None:
        """The Calls API event of a callback to the inbound webhook (inbound calls in IVR:
        infobip_calls.py); None when it is an inbound message instead."""
        return call_events(callback)

    def inbound_messages(self, callback: Callback) -> list[Inbound]:
        """The messages in an inbound callback. Accepted shapes (Infobip's own):

        - SMS: `{"results": [{"messageId", "from", "to", "text", "cleanText", "keyword",
          "receivedAt", ...}]}`: the text is `text`.
        - WhatsApp: `{"results": [{"from", "to", "integrationType": "WHATSAPP",
          "messageId", "message": {"type", "text"}, ...}]}`; a button or interactive reply
          gives its `text` / `title`, a media message its `caption`, else "".
        - Viber: as WhatsApp, with the sender in `sender` (or `from`); told apart by
          `integrationType` (VIBER...) or by `sender`.
        - An inbound call: the Calls API event `{"type": "CALL_RECEIVED", "callId",
          "properties": {"call": {"id", "from", "to", "direction": "INBOUND", "endpoint":
          {"type": "PHONE", "phoneNumber"}}}}` becomes channel `voice`, text "" (the flow's
          voice elements then speak to the caller). Other Calls API events sent to the same
          URL are not messages and yield nothing.

        Numbers of 8 to 15 digits get the `+` Infobip leaves out (E.164); shorter ones
        (short codes) and sender names stay as they came.
        """
        data = _json_body(callback)
        if isinstance(data, dict) and isinstance(data.get("type"), str) and "results" not in data:
            return _call_event(data)
        inbound: list[Inbound] = []
        for where, item in _results(data):
            message = item.get("message")
            if message is None:
                inbound.append(
                    Inbound(
                        "sms",
                        _number(_text(item, "from", where)),
                        _number(_text(item, "to", where)),
                        _text(item, "text", where),
                        provider_id=_optional_text(item, "messageId", where),
                    )
                )
                continue
            if not isinstance(message, dict):
                raise CallbackRefused(f"{where}.message", "message must be an object")
            integration = item.get("integrationType")
            viber = (
                integration.upper().startswith("VIBER")
                if isinstance(integration, str)
                else "sender" in item
            )
            sender_key = "sender" if viber and "sender" in item else "from"
            inbound.append(
                Inbound(
                    "viber" if viber else "whatsapp",
                    _number(_text(item, sender_key, where)),
                    _number(_text(item, "to", where)),
                    _message_text(message, f"{where}.message"),
                    provider_id=_optional_text(item, "messageId", where),
                )
            )
        return inbound


# --- message builders (pure) ---


def _dumps(value: Any) -> str:
    """Compact JSON (orjson: a batch of 1,000 messages is built on the sender's loop)."""
    return orjson.dumps(value).decode()


def _phone(number: str) -> str:
    """A destination as Infobip documents it: international format without the `+`."""
    return number.strip().removeprefix("+")


def _required(content: Mapping[str, Any], name: str, channel: str) -> str:
    value = content.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{channel}: {name} is missing")
    return value


def _sms(message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
    built: dict[str, Any] = {}
    if message.sender:
        built["sender"] = message.sender
    built["destinations"] = [{"to": _phone(message.to), "messageId": message.id}]
    built["content"] = {"text": _required(message.content, "text", "sms")}
    built["webhooks"] = {"delivery": {"url": webhooks.delivery}, "contentType": JSON}
    return SMS_PATH, built


def _whatsapp(message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
    head = {"from": _phone(message.sender), "to": _phone(message.to), "messageId": message.id}
    template = message.content.get("template")
    content: dict[str, Any]
    if template is None:
        content = {"text": _required(message.content, "text", "whatsapp")}
        return WHATSAPP_TEXT_PATH, {**head, "content": content, "notifyUrl": webhooks.delivery}
    if not isinstance(template, Mapping):
        raise _Invalid("whatsapp: template must be an object")
    params = template.get("params") or []
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise _Invalid("whatsapp: template params must be a list of texts")
    language = template.get("language") or "en"
    content = {
        "templateName": _required(template, "name", "whatsapp template"),
        "templateData": {"body": {"placeholders": list(params)}},
        "language": str(language),
    }
    return WHATSAPP_TEMPLATE_PATH, {**head, "content": content, "notifyUrl": webhooks.delivery}


def _viber(message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
    text, image = message.content.get("text"), message.content.get("image")
    content: dict[str, Any]
    if isinstance(image, str) and image:
        content = {"type": "IMAGE", "mediaUrl": image}
        if isinstance(text, str) and text:
            content["text"] = text
    else:
        content = {"type": "TEXT", "text": _required(message.content, "text", "viber")}
    button = message.content.get("button")
    if isinstance(button, Mapping):
        content["button"] = {
            "title": _required(button, "text", "viber button"),
            "action": _required(button, "url", "viber button"),
        }
    built: dict[str, Any] = {}
    if message.sender:
        built["sender"] = message.sender
    built["destinations"] = [{"to": _phone(message.to), "messageId": message.id}]
    built["content"] = content
    built["webhooks"] = {
        "delivery": {"url": webhooks.delivery},
        "seen": {"url": webhooks.delivery},
        "contentType": JSON,
    }
    return VIBER_PATH, built


def _voice(message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
    built: dict[str, Any] = {}
    if message.sender:
        built["from"] = _phone(message.sender)
    built["destinations"] = [{"to": _phone(message.to), "messageId": message.id}]
    built["text"] = _required(message.content, "say", "voice")
    built["language"] = str(message.content.get("language") or "en")
    built["notifyUrl"] = webhooks.delivery
    built["notifyContentType"] = JSON
    collect = message.content.get("collect")
    if isinstance(collect, Mapping):
        digits = collect.get("maxDigits", 1)
        if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
            raise _Invalid("voice: collect.maxDigits must be a positive whole number")
        built["maxDtmf"] = digits
        try:
            built["dtmfTimeout"] = collect_seconds(collect.get("timeout", "PT5S"))
        except ValueError as exc:
            raise _Invalid(f"voice: {exc}") from None
    return VOICE_PATH, built


def _email(message: Outgoing, webhooks: Webhooks) -> tuple[str, dict[str, Any]]:
    content = message.content
    fields: dict[str, Any] = {
        "from": message.sender,
        "to": message.to,
        "subject": _required(content, "subject", "email"),
    }
    html, text = content.get("html"), content.get("text")
    if not (isinstance(html, str) and html) and not (isinstance(text, str) and text):
        raise _Invalid("email: the message has neither html nor text")
    if isinstance(html, str) and html:
        fields["html"] = html
    if isinstance(text, str) and text:
        fields["text"] = text
    reply_to = content.get("replyTo")
    if isinstance(reply_to, str) and reply_to:
        fields["replyTo"] = reply_to
    fields["messageId"] = message.id
    fields["notifyUrl"] = webhooks.delivery
    fields["notifyContentType"] = JSON
    fields["track"] = "false"
    if message.unsubscribe_url:
        fields["headers"] = _dumps(
            {
                "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    return EMAIL_PATH, fields


_BUILDERS: dict[str, Callable[[Outgoing, Webhooks], tuple[str, dict[str, Any]]]] = {
    "sms": _sms,
    "whatsapp": _whatsapp,
    "viber": _viber,
    "voice": _voice,
    "email": _email,
}


def _multipart(fields: Mapping[str, str]) -> tuple[str, str]:
    """A `multipart/form-data` body (RFC 7578) of text fields, and its Content-Type."""
    values = [str(value) for value in fields.values()]
    while True:
        boundary = "----tidings" + secrets.token_hex(16)
        if not any(boundary in value for value in values):
            break
    lines: list[str] = []
    for name, value in fields.items():
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{name}"', "", str(value)]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines), f"multipart/form-data; boundary={boundary}"


# --- answers ---


def retry_after(value: Any) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_words(body: Any) -> str | None:
    """Infobip's words in an error answer: `requestError.serviceException.text` (with its
    `validationErrors`), or the newer `{"errorCode", "description", "violations"}`."""
    if isinstance(body, str):
        return body.strip()[:200] or None
    if not isinstance(body, dict):
        return None
    words: str | None = None
    details: list[str] = []
    request_error = body.get("requestError")
    exception = request_error.get("serviceException") if isinstance(request_error, dict) else None
    if isinstance(exception, dict):
        text = exception.get("text")
        words = text if isinstance(text, str) else None
        errors = exception.get("validationErrors")
        if isinstance(errors, dict):
            for field, problems in errors.items():
                items = problems if isinstance(problems, list) else [problems]
                details += [f"{field}: {problem}" for problem in items]
    elif isinstance(body.get("description"), str):
        words = body["description"]
        violations = body.get("violations")
        if isinstance(violations, list):
            for violation in violations:
                if isinstance(violation, dict):
                    details.append(f"{violation.get('property')}: {violation.get('violation')}")
    if words and details:
        return f"{words} ({'; '.join(details)})"
    return words or ("; ".join(details) if details else None)


def _status_words(status: Mapping[str, Any], error: Any = None) -> str:
    """`NAME: description` of a status, with the error's description when there is one."""
    name = status.get("name") or status.get("groupName") or "status"
    description = status.get("description")
    if isinstance(error, dict) and error.get("name") not in (None, "NO_ERROR"):
        detail = error.get("description") or error.get("name")
        return f"{name}: {detail}"
    return f"{name}: {description}" if description else str(name)


# --- callbacks (pure) ---


def read_reports(body: bytes) -> list[Report]:
    """A delivery callback's reports, any shape `delivery_reports` documents (the
    general parser: `infobip_wire.plain_reports` reads the commonest faster)."""
    data = _json_loads(body)
    if isinstance(data, dict) and "notificationType" in data:
        return _tracking(data)
    reports: list[Report] = []
    for where, item in _results(data):
        message_id = _text(item, "messageId", where)
        status = item.get("status")
        if status is None and "seenAt" in item:
            reports.append(Report(message_id, "seen"))
            continue
        if not isinstance(status, dict):
            raise CallbackRefused(f"{where}.status", "status must be an object")
        group = _text(status, "groupName", f"{where}.status")
        name = status.get("name")
        if name is not None and not isinstance(name, str):
            raise CallbackRefused(f"{where}.status.name", "name must be a string")
        price, currency = _price(item, where)
        verdict = report_status(group, name)
        reason = _status_words(status, item.get("error")) if verdict == "failed" else None
        reports.append(
            Report(
                message_id,
                verdict,
                reason=reason,
                price=price,
                currency=currency,
                digits=_digits(item, where),
            )
        )
    return reports


def _check_media(callback: Callback) -> None:
    media = callback.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media != JSON and not media.endswith("+json"):
        raise CallbackRefused("content-type", f"expected {JSON}, not {media}", 415)


def _json_body(callback: Callback) -> Any:
    _check_media(callback)
    return _json_loads(callback.body)


def _json_loads(body: bytes) -> Any:
    try:
        return json_loads(body)
    except (ValueError, RecursionError):
        raise CallbackRefused("body", "the body is not JSON") from None


def _results(data: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(data, dict):
        raise CallbackRefused("body", "the body must be a JSON object")
    results = data.get("results")
    if not isinstance(results, list):
        raise CallbackRefused("results", "results must be a list")
    out: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(item, dict):
            raise CallbackRefused(where, "each result must be an object")
        out.append((where, item))
    return out


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise CallbackRefused(_field(where, name), f"{name} must be a string")
    if name in ("messageId", "from", "to", "sender") and not value:
        raise CallbackRefused(_field(where, name), f"{name} must not be empty")
    return value


def _optional_text(item: Mapping[str, Any], name: str, where: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CallbackRefused(_field(where, name), f"{name} must be a string")
    return value


def _number_value(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CallbackRefused(field, "must be a number")
    return float(value)


def _price(item: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
    price = item.get("price")
    if price is None:
        return None, None
    if not isinstance(price, dict):
        raise CallbackRefused(f"{where}.price", "price must be an object")
    currency = _optional_text(price, "currency", f"{where}.price")
    per_message = _number_value(price.get("pricePerMessage"), f"{where}.price.pricePerMessage")
    per_second = _number_value(price.get("pricePerSecond"), f"{where}.price.pricePerSecond")
    amount = per_message
    if amount is None and per_second is not None:
        call = item.get("voiceCall")
        seconds = None
        if isinstance(call, dict):
            seconds = _number_value(
                call.get("chargedDuration", call.get("duration")), f"{where}.voiceCall.duration"
            )
        else:
            seconds = _number_value(item.get("duration"), f"{where}.duration")
        amount = per_second * seconds if seconds is not None else None
    if amount is None or currency is None or currency.upper() == "UNKNOWN":
        return None, None
    return amount, currency


def _digits(item: Mapping[str, Any], where: str) -> str | None:
    call = item.get("voiceCall")
    if call is None:
        return _optional_text(item, "dtmfCodes", where) or None  # the deprecated v1 report
    if not isinstance(call, dict):
        raise CallbackRefused(f"{where}.voiceCall", "voiceCall must be an object")
    codes = _optional_text(call, "dtmfCodes", f"{where}.voiceCall")
    if codes:
        return codes
    ivr = call.get("ivr")
    collected = ivr.get("collectedDtmfs") if isinstance(ivr, dict) else None
    if isinstance(collected, str):
        try:
            collected = json.loads(collected)
        except ValueError:
            return collected or None
    if isinstance(collected, dict):
        keyed = [value for value in collected.values() if isinstance(value, str) and value]
        return keyed[0] if keyed else None
    return None


def _tracking(data: Mapping[str, Any]) -> list[Report]:
    """An email tracking event (a single object, not `results[]`)."""
    kind = data.get("notificationType")
    if not isinstance(kind, str):
        raise CallbackRefused("notificationType", "notificationType must be a string")
    message_id = data.get("messageId")
    if isinstance(message_id, int | float) and not isinstance(message_id, bool):
        message_id = str(message_id)  # the OpenAPI schema says number; the ids are ours
    if not isinstance(message_id, str) or not message_id:
        raise CallbackRefused("messageId", "messageId must be a string")
    if kind == "OPENED":
        return [Report(message_id, "seen")]
    if kind == "CLICKED":
        url = _optional_text(data, "url", "")
        return [Report(message_id, "clicked", url=url)]
    if kind == "LATE_BOUNCE":
        return [Report(message_id, "failed", reason="LATE_BOUNCE: the email bounced")]
    if kind in ("UNSUBSCRIBED", "COMPLAINED"):  # either way: send them no more email
        return [Report(message_id, "unsubscribed", reason=kind)]
    return []


def _number(value: str) -> str:
    """`+` before a bare international number (8 to 15 digits); anything else as it came."""
    return f"+{value}" if value.isdigit() and 8 <= len(value) <= 15 else value


def _message_text(message: Mapping[str, Any], where: str) -> str:
    for name in ("text", "title", "caption"):
        value = message.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise CallbackRefused(f"{where}.{name}", f"{name} must be a string")
        return value
    return ""


def _call_event(data: Mapping[str, Any]) -> list[Inbound]:
    if data.get("type") != "CALL_RECEIVED":
        return []
    properties = data.get("properties")
    call = properties.get("call") if isinstance(properties, dict) else None
    if not isinstance(call, dict):
        raise CallbackRefused("properties.call", "a CALL_RECEIVED event names its call")
    where = "properties.call"
    sender = _optional_text(call, "from", where)
    if not sender:
        endpoint = call.get("endpoint")
        if isinstance(endpoint, dict):
            sender = _optional_text(endpoint, "phoneNumber", f"{where}.endpoint")
    if not sender:
        raise CallbackRefused(f"{where}.from", "the caller's number is missing")
    to = _text(call, "to", where)
    call_id = _optional_text(call, "id", where) or _optional_text(data, "callId", "")
    return [Inbound("voice", _number(sender), _number(to), "", provider_id=call_id)]
