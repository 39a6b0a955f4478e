"""The Twilio provider: SMS and WhatsApp through Twilio's Programmable Messaging API, voice
calls through its Voice API.

Wire format (Twilio's own, as twilio-python sends it):

- **Send**: one message per request,
  `POST {baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
  `AccountSid:AuthToken`, `application/x-www-form-urlencoded` fields `To`, `From` (or
  `MessagingServiceSid` when the sender is a Messaging Service SID, `MG...`), `Body` (or
  `ContentSid` + `ContentVariables`), `StatusCallback`. A batch's requests run
  concurrently (at most `concurrency` at a time) through the injected `ApiClient`, so they
  pass the private-address guard, DNS pinning and body bounds of `call_api`.
- **StatusCallback** is the connection's delivery webhook with `m=<our outbox id>` added to
  its query, so a status report names our id (Twilio signs the whole URL, query included).
- **WhatsApp**: `To` and `From` carry the `whatsapp:` prefix. A template whose name is a
  Twilio Content SID (`HX` + 32 hex) is sent as `ContentSid` with `ContentVariables`
  `{"1": params[0], "2": params[1], ...}` (Twilio's numbered placeholders; the template's
  language is Twilio's business: a Content SID names one approved template). Twilio has no
  way to send a WhatsApp template by name, so a template whose name is not a Content SID
  fails at once with a reason saying so (no request is made). Plain `{"text"}` goes as `Body`.
- **Voice**: one call per request, `POST {baseUrl}/2010-04-01/Accounts/{AccountSid}/Calls.json`
  (twilio-python's `CallList.create`), form fields `To`, `From` (a phone number: a Messaging
  Service cannot call), `Twiml` (inline TwiML, so Twilio fetches nothing from us to start
  the call), `StatusCallback` (the delivery webhook with `?m=<id>`) and
  `StatusCallbackEvent=completed` (only the final status: queued, ringing and answered
  events would only be `pending`). The TwiML is
  `<Response><Say language="..">text</Say></Response>` (`language` only when the element
  names one; Twilio's default is en-US), or with `collect` (`{"maxDigits", "timeout"}`, the
  timeout an ISO 8601 duration, whole seconds, at least 1):
  `<Response><Gather input="dtmf" numDigits=".." timeout=".." action="{delivery
  webhook}?m={id}&amp;gather=1" method="POST"><Say ..>text</Say></Gather></Response>`. Text
  and attributes are XML-escaped. Twilio takes at most 4000 characters of `Twiml`: a longer
  call fails at once (no request is made).
- **Idempotency**: Twilio's Messages and Calls APIs document no request idempotency (no
  client message id, no idempotency key; `I-Twilio-Idempotency-Token` is the header Twilio
  puts on the webhooks it sends, so a receiver can drop a retried webhook). Each request
  still carries `I-Twilio-Idempotency-Token: <our outbox id>`, which Twilio (and the
  loopback stand-in, `standins/twilio.py`) ignores. What holds instead: a message whose
  earlier try's outcome is unknown (`Outgoing.unknown_since`: its lease ran out while it
  was at Twilio, say the server was killed between Twilio's 201 and our settle) is first
  looked up, `GET .../Messages.json?To=&From=&PageSize=50` (`.../Calls.json` for a call;
  no `From` for a Messaging Service), and a listed outbound resource to and from the same
  numbers, created no earlier than that try (less 5 minutes of clock skew), with the same
  `Body` (a template's or a call's content is not listed: not compared) is taken as
  `accepted` with its `sid` instead of sending again (each listed one for one message of
  the batch). The `DateSent>=` / `StartTime>=` filters are not used: both are empty while
  Twilio still queues the message or call, which is just what a crash leaves. A look-up
  Twilio does not answer is a `retry` (never a blind send). What does not hold: a message
  identical in numbers and text sent again within the window (another journey's, a
  re-entry's) can be taken for the earlier try, so one of the two is not sent; an earlier
  try no longer among the 50 newest resources of those numbers is not found, and is sent
  again.
- **Answers**: 201 (any 2xx) -> `accepted` with `provider_id` = the Message's (Call's) `sid` and
  `price` = |`price`| when Twilio already priced it (Twilio writes prices negative);
  429 and 5xx -> `retry` (`retry_after` from `Retry-After`); a timeout or a connection
  error -> `retry`; a refused URL (private address, invalid URL) -> `failed`; any other
  answer -> `failed` with Twilio's `code` and `message`. The auth token never appears in a
  reason (scrubbed even if an answer echoed it).

Callbacks (form-encoded, signed with `X-Twilio-Signature`, checked first: a missing or wrong
signature is `CallbackRefused(status=403)`; a body that is not UTF-8 form data is 400):

- `delivery_reports`: `MessageStatus` queued, accepted, scheduled, sending, sent and
  partially_delivered -> `pending`; delivered -> `delivered`; read -> `seen`; undelivered,
  failed, canceled -> `failed` with `ErrorCode` (and `ErrorMessage` when present). The
  inbound statuses (receiving, received) and statuses Twilio may add later are **refused**
  (400 naming `MessageStatus`), not guessed: the refusal shows in Twilio's debugger and
  changes nothing here. Our id comes from the `m` query parameter.
- Calls (`CallSid` in the form): the status callback's `CallStatus` completed -> `delivered`
  (answered) with `price_later` = the CallSid (Twilio prices a call once it has ended: the
  dispatcher then sends a `priceOf` message, which is `GET .../Calls/{CallSid}.json`,
  `accepted` with |`price`|, or `retry` while `price` is null); busy, no-answer, failed and
  canceled -> `failed` with the status as the reason; queued, initiated, ringing and
  in-progress -> `pending`; anything else is refused (400 naming `CallStatus`). A request to
  the `<Gather>` action (`gather=1` in the query) with `Digits` is `delivered` with those
  digits; without digits it is `pending` (Twilio only calls the action when keys were
  pressed, unless asked otherwise).
  **Which report counts**: the first final report of a message wins in the store, so the
  digits must arrive before the `completed` callback, and they do: Twilio requests the
  action URL while the call is live and continues the call with the TwiML it answers
  (`callback_answer`: an empty `<Response/>`, which hangs up), and posts the `completed`
  status only once the call has ended, after that answer. (A caller who hangs up while the
  action request is in flight could race it; then the call counts as `answered` without
  digits.) A call with a Gather whose person pressed nothing reports only `completed`:
  `answered`.
- `callback_answer`: the TwiML Twilio expects in the answer to a `<Gather>` action
  (`text/xml`); other callbacks get the webhook's JSON.
- `call_events` / `call_reply`: requests of inbound calls to the inbound webhook (the
  number's Voice URL) and the TwiML they are answered with; a voice message on such a call
  is a live-call update (twilio_calls.py).
- `inbound_messages`: Twilio's incoming-message webhook (`From`, `To`, `Body`,
  `MessageSid`); `whatsapp:` addresses make the channel `whatsapp` (prefix stripped).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import ParseResult, parse_qs, parse_qsl, urlencode, urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tidings.channels import twilio_calls
from tidings.channels import twiml as documents
from tidings.channels.answering import ApiClient
from tidings.channels.call_api import ApiRequest, ApiResult
from tidings.channels.infobip_calls import CallActionInvalid, CallEvent, is_call_action
from tidings.channels.providers import (
    Callback,
    CallbackRefused,
    Inbound,
    Outgoing,
    Report,
    ReportStatus,
    SendResult,
    Webhooks,
)

SECRETS = frozenset({"authToken"})
API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "x-twilio-signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
WHATSAPP_PREFIX = "whatsapp:"
ID_PARAMETER = "m"  # the StatusCallback query parameter that carries our outbox id
GATHER_PARAMETER = "gather"  # `gather=1`: a request to a call's <Gather> action
TWIML_LIMIT = 4000  # characters of inline `Twiml` Twilio takes
LOOKUP_PAGE = 50  # the newest Messages (Calls) to and from the numbers an unknown try is among
PRICE_OF = "priceOf"  # content of a price to ask for (providers.Outgoing)
CLOCK_SKEW = 300.0  # seconds Twilio's clock (date_created) may be behind ours
TWIML = documents.TWIML
EMPTY_TWIML = documents.EMPTY

CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")

_PENDING = frozenset({"queued", "accepted", "scheduled", "sending", "sent", "partially_delivered"})
_FAILED = frozenset({"undelivered", "failed", "canceled"})
_CALL_PENDING = frozenset({"queued", "initiated", "ringing", "in-progress"})
_CALL_FAILED = frozenset({"busy", "no-answer", "failed", "canceled"})
# Twilio's words for the delivery errors a status callback names most often (its callbacks
# carry only the number, ErrorCode; twilio.com/docs/api/errors).
ERROR_WORDS = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
    "30008": "Unknown error",
    "63016": "Outside the allowed window (WhatsApp free-form message)",
}


class TwilioSettings(BaseModel):
    """A Twilio connection's settings, as `POST /connections` takes them (camelCase)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    base_url: str = Field(default="https://api.twilio.com", alias="baseUrl")
    account_sid: str = Field(alias="accountSid", pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr = Field(alias="authToken", min_length=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http or https URL")
        if parsed.query or parsed.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.rstrip("/")


# --- X-Twilio-Signature (twilio-python's twilio/request_validator.py, step by step) ---

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _grouped(params: Params) -> dict[str, set[str]]:
    pairs = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, set[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, set()).add(value)
    return grouped


def signature(auth_token: str, url: str, params: Params) -> str:
    """Twilio's `X-Twilio-Signature` of a request to `url` with form `params`: base64 of
    HMAC-SHA1 (key: the auth token) over the URL followed by each parameter's name and value,
    names sorted, a repeated name's distinct values sorted (RequestValidator.compute_signature).
    """
    text = url
    grouped = _grouped(params)
    for name in sorted(grouped):
        for value in sorted(grouped[name]):
            text += name + value
    mac = hmac.new(auth_token.encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii").strip()


def body_sha256(body: str) -> str:
    """The hex SHA-256 of a JSON body, which Twilio puts in the URL as `bodySHA256`."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _remove_port(uri: ParseResult) -> str:
    if not uri.port:
        return uri.geturl()
    return uri._replace(netloc=uri.netloc.split(":")[0]).geturl()


def _add_port(uri: ParseResult) -> str:
    if uri.port:
        return uri.geturl()
    port = 443 if uri.scheme == "https" else 80
    return uri._replace(netloc=f"{uri.netloc}:{port}").geturl()


def _same(one: str, other: str) -> bool:
    return hmac.compare_digest(one.encode("utf-8"), other.encode("utf-8"))


def valid_signature(auth_token: str, url: str, params: Params | str, given: str) -> bool:
    """Whether `given` is Twilio's signature of a request to `url` (RequestValidator.validate).

    `params` is the form's parameters, or the raw body (a `str`) of a JSON request, whose
    SHA-256 must then match the URL's `bodySHA256` and which is signed as no parameters.
    The URL is tried without its port and with the scheme's default port added, since
    Twilio's signing is inconsistent about ports. Comparisons take constant time."""
    try:
        parsed = urlparse(url)
        with_port, without_port = _add_port(parsed), _remove_port(parsed)
    except ValueError:  # a port that is not a number
        return False
    body_ok = True
    form: Params = {}
    if isinstance(params, str):
        query = parse_qs(parsed.query)
        if "bodySHA256" in query:
            body_ok = _same(body_sha256(params), query["bodySHA256"][0])
    else:
        form = list(params.items()) if isinstance(params, Mapping) else list(params)
    without = _same(signature(auth_token, without_port, form), given)
    with_ = _same(signature(auth_token, with_port, form), given)
    return body_ok and (without or with_)


# --- the provider ---


class TwilioProvider:
    """Sends SMS and WhatsApp and makes voice calls through one Twilio account (see the
    module doc).

    `http` is shared and owned by the caller (`aclose` does not close it); `allow_private`
    is the account's `allowPrivateUrls` (or the server default) for the `baseUrl`."""

    name: ClassVar[str] = "twilio"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "whatsapp", "voice"})
    max_batch: ClassVar[int] = 100  # Twilio takes one message per request; these run together

    def __init__(
        self,
        settings: TwilioSettings,
        http: ApiClient,
        *,
        allow_private: bool,
        concurrency: int = 32,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._settings = settings
        self._http = http
        self._allow_private = allow_private
        self._concurrency = max(1, concurrency)
        self._timeout = timeout_seconds
        self._token = settings.auth_token.get_secret_value()
        sid = settings.account_sid
        self._url = f"{settings.base_url}/{API_VERSION}/Accounts/{sid}/Messages.json"
        self._account_url = f"{settings.base_url}/{API_VERSION}/Accounts/{sid}"
        self._calls_url = f"{self._account_url}/Calls.json"
        basic = base64.b64encode(f"{sid}:{self._token}".encode()).decode("ascii")
        self._basic = basic
        self._headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }

    async def aclose(self) -> None:
        return None

    # sending

    async def send(self, batch: Sequence[Outgoing], webhooks: Webhooks) -> list[SendResult]:
        slots = asyncio.Semaphore(self._concurrency)
        adopted: set[str] = set()  # SIDs of earlier tries this batch took as its own

        async def one(message: Outgoing) -> SendResult:
            if is_call_action(message):  # a live inbound call (twilio_calls.py)
                return await self._update_call(message, webhooks, slots)
            if PRICE_OF in message.content:  # an ended call's price
                return await self._call_price(message, slots)
            form = self.form(message, webhooks)
            if isinstance(form, SendResult):
                return form
            async with slots:
                url = self._calls_url if message.channel == "voice" else self._url
                if message.unknown_since is not None:  # an earlier try may have gone
                    found = await self._earlier(message, dict(form), url, adopted)
                    if found is not None:
                        return found
                result = await self._http.call(
                    self._request(message.id, form, url), allow_private=self._allow_private
                )
            return self._result(message.id, result)

        return list(await asyncio.gather(*(one(message) for message in batch)))

    def form(self, message: Outgoing, webhooks: Webhooks) -> list[tuple[str, str]] | SendResult:
        """The request's form fields for `message`, or why it cannot be sent."""
        if message.channel not in self.channels:
            return self._failed(message.id, f"twilio does not send {message.channel}")
        if not message.to:
            return self._failed(message.id, "no recipient")
        if message.channel == "voice":
            return self._call_form(message, webhooks)
        whatsapp = message.channel == "whatsapp"
        form = [("To", _address(message.to, whatsapp))]
        if MESSAGING_SERVICE_SID.fullmatch(message.sender):
            form.append(("MessagingServiceSid", message.sender))
        elif message.sender:
            form.append(("From", _address(message.sender, whatsapp)))
        else:
            return self._failed(message.id, "no sender")
        content = message.content
        template = content.get("template") if whatsapp else None
        if isinstance(template, Mapping):
            name = template.get("name")
            if not isinstance(name, str) or not CONTENT_SID.fullmatch(name):
                return self._failed(
                    message.id,
                    f"Twilio sends WhatsApp templates by Content SID (HX followed by 32 hex "
                    f"digits); the template {name!r} is not one",
                )
            params = template.get("params") or []
            variables = {str(i): str(p) for i, p in enumerate(params, 1)}
            form.append(("ContentSid", name))
            form.append(("ContentVariables", json.dumps(variables, ensure_ascii=False)))
        else:
            text = content.get("text")
            if not isinstance(text, str) or not text:
                return self._failed(message.id, "the message has no text")
            form.append(("Body", text))
        form.append(("StatusCallback", status_callback(webhooks.delivery, message.id)))
        return form

    async def _earlier(
        self, message: Outgoing, form: Mapping[str, str], url: str, adopted: set[str]
    ) -> SendResult | None:
        """The earlier try of a message whose outcome is unknown, found at Twilio and taken
        as accepted (see the module doc, Idempotency); None when Twilio has none (send
        it); `retry` when Twilio could not be asked (never send blind)."""
        assert message.unknown_since is not None
        query = [("To", form["To"])]
        if "From" in form:
            query.append(("From", form["From"]))
        query.append(("PageSize", str(LOOKUP_PAGE)))
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        request = ApiRequest(
            "GET", f"{url}?{urlencode(query)}", headers, None, self._timeout, retries=0
        )
        result = await self._http.call(request, allow_private=self._allow_private)
        body = result.data.get("body") if result.status is not None else None
        if result.status != 200 or not isinstance(body, dict):
            answer = self._result(message.id, result)
            words = answer.reason or f"HTTP {result.status}"
            reason = f"looking up an earlier try at Twilio: {words}"
            if answer.status == "failed":
                return SendResult(message.id, "failed", reason)
            return SendResult(message.id, "retry", reason, retry_after=answer.retry_after)
        listed = body.get("calls" if message.channel == "voice" else "messages")
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and _same_try(item, form, message.unknown_since):
                sid = item.get("sid")
                if isinstance(sid, str) and sid and sid not in adopted:
                    adopted.add(sid)
                    price = _price(item.get("price"))
                    return SendResult(message.id, "accepted", provider_id=sid, price=price)
        return None

    async def _call_price(self, message: Outgoing, slots: asyncio.Semaphore) -> SendResult:
        """The price of an ended call (`GET .../Calls/{CallSid}.json`, its `price`): accepted
        with it, or `retry` while Twilio has not priced the call yet (`price` null)."""
        asked = message.content[PRICE_OF]
        sid = asked.get("id") if isinstance(asked, Mapping) else None
        if not isinstance(sid, str) or not sid:
            return self._failed(message.id, "no call to price")
        url = self._account_url + twilio_calls.update_path(sid)
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        request = ApiRequest("GET", url, headers, None, self._timeout, retries=0)
        async with slots:
            result = await self._http.call(request, allow_private=self._allow_private)
        body = result.data.get("body") if result.status is not None else None
        if result.status is not None and 200 <= result.status < 300:
            price = _price(body.get("price")) if isinstance(body, dict) else None
            if price is None:
                return SendResult(message.id, "retry", "Twilio has not priced the call yet")
            return SendResult(message.id, "accepted", price=price)
        answer = self._result(message.id, result)
        return answer._replace(provider_id=None, price=None)

    async def _update_call(
        self, message: Outgoing, webhooks: Webhooks, slots: asyncio.Semaphore
    ) -> SendResult:
        """A voice message (or a hang-up) on a live inbound call: Twilio's live-call update
        (twilio_calls.py). Its answer is the Call resource: neither its SID nor its price
        is the message's."""
        try:
            form = twilio_calls.update_form(message, webhooks.inbound)
        except CallActionInvalid as exc:
            return self._failed(message.id, str(exc))
        document = dict(form).get("Twiml", "")
        if len(document) > TWIML_LIMIT:
            return self._failed(
                message.id,
                f"voice: the call's TwiML has {len(document)} characters; Twilio takes at "
                f"most {TWIML_LIMIT}",
            )
        call_id = str(message.content["call"]["id"])
        url = self._account_url + twilio_calls.update_path(call_id)
        async with slots:
            result = await self._http.call(
                self._request(message.id, form, url), allow_private=self._allow_private
            )
        answer = self._result(message.id, result)
        return answer._replace(provider_id=None, price=None)

    def _call_form(
        self, message: Outgoing, webhooks: Webhooks
    ) -> list[tuple[str, str]] | SendResult:
        """A call's form fields (twilio-python's `CallList.create`), or why it cannot be made."""
        if not message.sender:
            return self._failed(message.id, "no caller number (From)")
        if MESSAGING_SERVICE_SID.fullmatch(message.sender):
            return self._failed(
                message.id, "a Messaging Service cannot make calls: From must be a phone number"
            )
        try:
            document = twiml(message.content, gather_action(webhooks.delivery, message.id))
        except ValueError as exc:
            return self._failed(message.id, f"voice: {exc}")
        if len(document) > TWIML_LIMIT:
            return self._failed(
                message.id,
                f"voice: the call's TwiML has {len(document)} characters; Twilio takes at "
                f"most {TWIML_LIMIT}",
            )
        return [
            ("To", message.to),
            ("From", message.sender),
            ("Twiml", document),
            ("StatusCallback", status_callback(webhooks.delivery, message.id)),
            ("StatusCallbackEvent", "completed"),
        ]

    def _request(self, message_id: str, form: list[tuple[str, str]], url: str) -> ApiRequest:
        headers = {**self._headers, IDEMPOTENCY_HEADER: message_id}
        return ApiRequest(
            "POST", url, headers, urlencode(form), timeout_seconds=self._timeout, retries=0
        )

    def _result(self, message_id: str, result: ApiResult) -> SendResult:
        status = result.status
        if status is None:
            reason = self._scrub(result.error or "no answer")
            if reason.startswith(("refused", "invalid")) or "certificate not trusted" in reason:
                return SendResult(message_id, "failed", reason)
            return SendResult(message_id, "retry", reason)
        body = result.data.get("body")
        if 200 <= status < 300:
            sid = body.get("sid") if isinstance(body, dict) else None
            price = _price(body.get("price")) if isinstance(body, dict) else None
            provider_id = sid if isinstance(sid, str) and sid else None
            return SendResult(message_id, "accepted", provider_id=provider_id, price=price)
        reason = self._scrub(_twilio_reason(status, body, result.error))
        if status == 429 or status >= 500:
            headers = result.data.get("headers")
            after = _retry_after(headers.get("retry-after") if isinstance(headers, dict) else None)
            return SendResult(message_id, "retry", reason, retry_after=after)
        return SendResult(message_id, "failed", reason)

    def _failed(self, message_id: str, reason: str) -> SendResult:
        return SendResult(message_id, "failed", reason)

    def _scrub(self, text: str) -> str:
        for secret in (self._token, self._basic):
            if secret and secret in text:
                text = text.replace(secret, "[secret]")
        return text

    # callbacks

    def _form(self, callback: Callback) -> list[tuple[str, str]]:
        """The callback's form fields once its signature is checked."""
        media = callback.headers.get("content-type", "application/x-www-form-urlencoded")
        if media.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
            raise CallbackRefused("content-type", "Twilio posts application/x-www-form-urlencoded")
        try:
            text = callback.body.decode("utf-8")
            form = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CallbackRefused("body", f"the body is not form data: {exc}") from None
        given = callback.headers.get(SIGNATURE_HEADER)
        if not given:
            raise CallbackRefused("X-Twilio-Signature", "the signature is missing", 403)
        if not valid_signature(self._token, callback.url, form, given):
            raise CallbackRefused("X-Twilio-Signature", "the signature does not match", 403)
        return form

    def delivery_reports(self, callback: Callback) -> list[Report]:
        fields = dict(self._form(callback))
        message_id = callback.query.get(ID_PARAMETER) or _query(callback.url, ID_PARAMETER)
        if not message_id:
            raise CallbackRefused(ID_PARAMETER, "the callback URL names no message (?m=)")
        if "CallSid" in fields and "MessageSid" not in fields:
            return [_call_report(message_id, fields, _gather(callback))]
        _required(fields, "MessageSid")
        status = _required(fields, "MessageStatus")
        mapped: ReportStatus
        reason = None
        if status in _PENDING:
            mapped = "pending"
        elif status == "delivered":
            mapped = "delivered"
        elif status == "read":
            mapped = "seen"
        elif status in _FAILED:
            mapped = "failed"
            reason = _failure_reason(status, fields)
        else:
            raise CallbackRefused(
                "MessageStatus", f"{status!r} is not a status of an outbound message"
            )
        return [Report(message_id, mapped, reason=reason)]

    def callback_answer(self, callback: Callback) -> tuple[bytes, str] | None:
        """What the webhook answers a callback it has recorded: to a `<Gather>` action, the
        TwiML Twilio continues the call with (an empty `<Response/>`: it hangs up), as
        `(body, content type)`; None for any other callback (the webhook's JSON will do)."""
        if _gather(callback):
            return EMPTY_TWIML, TWIML
        return None

    def call_events(self, callback: Callback) -> list[CallEvent] | None:
        """The call event of a request to the inbound webhook (inbound calls in IVR:
        twilio_calls.py), once its signature is checked; None when it is an incoming
        message instead (no `CallSid`)."""
        fields = dict(self._form(callback))
        if "CallSid" not in fields or "MessageSid" in fields:
            return None
        query = dict(callback.query) or {
            name: values[0] for name, values in parse_qs(urlparse(callback.url).query).items()
        }
        return twilio_calls.events(fields, query)

    def call_reply(self, callback: Callback, state: str | None) -> tuple[bytes, str]:
        """The TwiML the inbound webhook answers a call's request with, the call being in
        `state` (None: not received): see twilio_calls.reply."""
        fields = dict(parse_qsl(callback.body.decode("utf-8", "replace")))
        status = fields.get("CallStatus", "")
        return twilio_calls.reply(callback.url, status, state), TWIML

    def inbound_messages(self, callback: Callback) -> list[Inbound]:
        fields = dict(self._form(callback))
        sender = _required(fields, "From")
        to = _required(fields, "To")
        sid = _required(fields, "MessageSid")
        whatsapp = sender.startswith(WHATSAPP_PREFIX) or to.startswith(WHATSAPP_PREFIX)
        return [
            Inbound(
                channel="whatsapp" if whatsapp else "sms",
                sender=sender.removeprefix(WHATSAPP_PREFIX),
                to=to.removeprefix(WHATSAPP_PREFIX),
                text=fields.get("Body", ""),
                provider_id=sid,
            )
        ]


def status_callback(delivery: str, message_id: str) -> str:
    """The delivery webhook URL with our outbox id as `m` in its query."""
    separator = "&" if "?" in delivery else "?"
    return f"{delivery}{separator}{urlencode({ID_PARAMETER: message_id})}"


def gather_action(delivery: str, message_id: str) -> str:
    """The `<Gather>` action URL of a call: the delivery webhook with `m=<id>&gather=1`."""
    separator = "&" if "?" in delivery else "?"
    query = urlencode({ID_PARAMETER: message_id, GATHER_PARAMETER: "1"})
    return f"{delivery}{separator}{query}"


def twiml(content: Mapping[str, Any], action: str) -> str:
    """The inline TwiML of a call: `<Say>` the text, inside a `<Gather>` when `collect` asks
    for digits (see the module doc). Raises ValueError for content a call cannot say."""
    return documents.say_document(content, action)


def _gather(callback: Callback) -> bool:
    """Whether a callback is a request to a call's `<Gather>` action (`gather=1`)."""
    value = callback.query.get(GATHER_PARAMETER) or _query(callback.url, GATHER_PARAMETER)
    return value == "1"


def _call_report(message_id: str, fields: Mapping[str, str], gather: bool) -> Report:
    """A call's status callback or `<Gather>` action as a report (see the module doc)."""
    _required(fields, "CallSid")
    if gather:
        digits = fields.get("Digits", "")
        if digits:
            return Report(message_id, "delivered", digits=digits)
        return Report(message_id, "pending")
    status = _required(fields, "CallStatus")
    if status == "completed":  # answered: Twilio prices it now (fetched after: PRICE_OF)
        return Report(message_id, "delivered", price_later=fields["CallSid"])
    if status in _CALL_FAILED:
        return Report(message_id, "failed", reason=status)
    if status in _CALL_PENDING:
        return Report(message_id, "pending")
    raise CallbackRefused("CallStatus", f"{status!r} is not a status of a call")


def _same_try(item: Mapping[str, Any], form: Mapping[str, str], since: float) -> bool:
    """Whether a Message (Call) resource Twilio listed is the earlier try of the message
    whose request form is `form`: ours (outbound, to and from the same numbers, through
    the same Messaging Service), created no earlier than that try (less `CLOCK_SKEW`),
    and saying the same `Body` (a template's text is Twilio's to render: not compared;
    a call's TwiML is not listed)."""
    if not str(item.get("direction") or "").startswith("outbound"):
        return False
    if item.get("to") != form["To"]:
        return False
    if "From" in form and item.get("from") != form["From"]:
        return False
    service = form.get("MessagingServiceSid")
    if service is not None and item.get("messaging_service_sid") != service:
        return False
    if "Body" in form and item.get("body") != form["Body"]:
        return False
    try:
        created = parsedate_to_datetime(str(item.get("date_created"))).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return created >= since - CLOCK_SKEW


def _address(number: str, whatsapp: bool) -> str:
    if whatsapp and not number.startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX + number
    return number


def _query(url: str, name: str) -> str | None:
    values = parse_qs(urlparse(url).query).get(name)
    return values[0] if values else None


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise CallbackRefused(name, f"{name} is missing")
    return value


def _failure_reason(status: str, fields: Mapping[str, str]) -> str:
    code = fields.get("ErrorCode", "")
    words = fields.get("ErrorMessage") or ERROR_WORDS.get(code)
    if code and words:
        return f"{status}: Twilio error {code}: {words}"
    if code:
        return f"{status}: Twilio error {code}"
    return status


def _twilio_reason(status: int, body: Any, error: str | None) -> str:
    """Twilio's error answer `{"code", "message", "more_info", "status"}` in words."""
    if isinstance(body, dict):
        message, code = body.get("message"), body.get("code")
        if isinstance(message, str) and message:
            return f"Twilio error {code}: {message}" if code is not None else message
    return error or f"HTTP {status}"


def _price(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        price = abs(float(value))
    except (TypeError, ValueError):
        return None
    return price if price == price and price != float("inf") else None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(0.0, seconds)
