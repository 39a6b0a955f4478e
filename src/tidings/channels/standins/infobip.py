"""A loopback stand-in for Infobip's HTTP API, for the tests and `tidings bench dispatch`.

It serves, on 127.0.0.1 (port 0 unless told), the endpoints the Infobip provider uses:
`/sms/3/messages`, `/whatsapp/1/message/text`, `/whatsapp/1/message/template`,
`/viber/2/messages`, `/tts/3/advanced` (JSON) and `/email/3/send` (multipart/form-data).
Each request must carry `Authorization: App <api_key>` (else 401) and the documented body
shape, checked field by field (else 400 with Infobip's error shape
`{"requestError": {"serviceException": {"messageId", "text", "validationErrors"}}}`).

What it does with an accepted message:

- **keeps it** in `messages` (`channel`, `to`, `from`, `content`, `messageId`, `path`;
  with `keep=False` only its id, for the bench), once per `messageId`: a message id it
  has seen is not kept, sent or reported again (it is answered as accepted again, or,
  with `reject_duplicates`, as REJECTED_DUPLICATE_MESSAGE_ID). A destination that is not
  a phone number (an email address for email), or that is in `reject_numbers`, is
  answered REJECTED_DESTINATION inside the 200 answer and not kept.
- **reports it** after `report_delay` seconds to the URL the request named
  (`webhooks.delivery.url` or `notifyUrl`; none, no report), in Infobip's report format,
  up to `report_batch` (default 100, as Infobip) reports per POST, from a background task.
  The fate comes from `number_fates[to]`, else `fates[channel]`: `delivered`
  (DELIVERED_TO_HANDSET, after a DELIVERED_TO_OPERATOR report when `operator_first`, for
  SMS, WhatsApp and Viber), `failed` (UNDELIVERABLE_NOT_DELIVERED) or `none`. A voice call
  `delivered` is answered, with `voice_digits` (at most `maxDtmf` of them) in
  `voiceCall.dtmfCodes` when the call collects digits; `failed` is not answered
  (NO_ANSWER). Every report carries `price` (`pricePerMessage`, or `pricePerSecond` for
  voice) in `currency`. A POST that is not answered 2xx is tried again, as Infobip does,
  up to `report_retries` times with a growing pause (capped at 2 s), then dropped.
- `fail_next(n, status, retry_after)`: the next n API requests are answered 429 (with
  `Retry-After`) or 5xx before anything is checked or kept.
- `post_inbound(url, channel, from_, to, text)` posts an inbound message in Infobip's
  inbound format (SMS `results[]`, WhatsApp / Viber `results[].message`, and for `voice`
  a Calls API CALL_RECEIVED event).
- `calls`: the Calls API for inbound calls in IVR (`calls.place_call(url, from_, to,
  digits=[...])`, answer / say / capture DTMF / hang up, the call's events posted back:
  standins/infobip_calls.py).

Fast enough for the bench: one JSON parse per request (orjson; a plain SMS request is
read and answered by msgspec records, standins/infobip_sms.py), no per-message sleep,
reports queued in a heap and posted in buckets by a bounded number of concurrent POSTs.
`async with InfobipStandin() as standin: standin.url ...`, or `start()` / `stop()`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import orjson
from aiohttp import web

from tidings.channels.standins import infobip_sms
from tidings.channels.standins.infobip_calls import CallsStandin

Fate = Literal["delivered", "failed", "none"]
Channel = Literal["sms", "whatsapp", "viber", "voice", "email"]

DEFAULT_KEY = "standin-api-key"

ACCEPTED = {
    "groupId": 1,
    "groupName": "PENDING",
    "id": 26,
    "name": "PENDING_ACCEPTED",
    "description": "Message sent to next instance",
}
ENROUTE = {
    "groupId": 1,
    "groupName": "PENDING",
    "id": 7,
    "name": "PENDING_ENROUTE",
    "description": "Message sent to next instance",
}
TO_OPERATOR = {
    "groupId": 3,
    "groupName": "DELIVERED",
    "id": 2,
    "name": "DELIVERED_TO_OPERATOR",
    "description": "Message delivered to operator",
}
TO_HANDSET = {
    "groupId": 3,
    "groupName": "DELIVERED",
    "id": 5,
    "name": "DELIVERED_TO_HANDSET",
    "description": "Message delivered to handset",
}
NOT_DELIVERED = {
    "groupId": 2,
    "groupName": "UNDELIVERABLE",
    "id": 9,
    "name": "UNDELIVERABLE_NOT_DELIVERED",
    "description": "Message sent not delivered",
}
REJECTED_DESTINATION = {
    "groupId": 5,
    "groupName": "REJECTED",
    "id": 14,
    "name": "REJECTED_DESTINATION",
    "description": "Invalid destination address",
}
REJECTED_DUPLICATE = {
    "groupId": 5,
    "groupName": "REJECTED",
    "id": 23,
    "name": "REJECTED_DUPLICATE_MESSAGE_ID",
    "description": "Duplicate message id",
}
NO_ERROR = {
    "groupId": 0,
    "groupName": "OK",
    "id": 0,
    "name": "NO_ERROR",
    "description": "No Error",
    "permanent": False,
}
ABSENT_SUBSCRIBER = {
    "groupId": 1,
    "groupName": "HANDSET_ERRORS",
    "id": 27,
    "name": "EC_ABSENT_SUBSCRIBER",
    "description": "Absent Subscriber",
    "permanent": False,
}
NO_ANSWER = {
    "groupId": 2,
    "groupName": "USER_ERRORS",
    "id": 10002,
    "name": "NO_ANSWER",
    "description": "The call was not answered",
    "permanent": False,
}

_PHONE = re.compile(r"\+?[0-9]{6,15}")
_OPERATOR_FIRST = frozenset({"sms", "whatsapp", "viber"})
_REPORT_BACKOFF_CAP = 2.0
_TAKE_PER_ROUND = 50_000


class _Bad(Exception):
    """A request that does not have the documented shape: 400, naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _error(message_id: str, text: str, errors: Mapping[str, list[str]] | None = None) -> Any:
    exception: dict[str, Any] = {"messageId": message_id, "text": text}
    if errors:
        exception["validationErrors"] = dict(errors)
    return {"requestError": {"serviceException": exception}}


def _stamp() -> str:
    """Now as Infobip writes instants: `yyyy-MM-dd'T'HH:mm:ss.SSSZ`."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


# --- shape checks (Infobip's OpenAPI schemas, the fields the provider may send) ---


def _object(value: Any, field: str, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(field, "must be an object")
    if allowed is not None and not value.keys() <= allowed:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise _Bad(f"{field}.{unknown[0]}", "is not a known property")
    return value


def _string(
    parent: Mapping[str, Any], name: str, field: str, *, required: bool = True, most: int = 0
) -> str | None:
    value = parent.get(name)
    if value is None:
        if required:
            raise _Bad(f"{field}.{name}", "must not be null")
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field}.{name}", "must be a string")
    if required and not value.strip():
        raise _Bad(f"{field}.{name}", "must not be blank")
    if most and len(value) > most:
        raise _Bad(f"{field}.{name}", f"size must be between 0 and {most}")
    return value


def _positive(parent: Mapping[str, Any], name: str, field: str) -> int | None:
    value = parent.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Bad(f"{field}.{name}", "must be a positive integer")
    return value


def _list(parent: Mapping[str, Any], name: str, field: str) -> list[Any]:
    value = parent.get(name)
    if not isinstance(value, list) or not value:
        raise _Bad(f"{field}.{name}", "must not be empty")
    return value


def _url(parent: Mapping[str, Any], name: str, field: str) -> str | None:
    value = _string(parent, name, field, required=False, most=2048)
    if value is not None and not value.startswith(("http://", "https://")):
        raise _Bad(f"{field}.{name}", "must be a valid URL")
    return value


_DESTINATION_KEYS = frozenset({"to", "messageId", "networkId"})
_WEBHOOK_KEYS = frozenset({"delivery", "contentType", "callbackData"})
_WEBHOOK_SEEN_KEYS = _WEBHOOK_KEYS | {"seen"}
_DELIVERY_KEYS = frozenset({"url", "intermediateReport", "notify"})


def _destinations(message: Mapping[str, Any], field: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for index, raw in enumerate(_list(message, "destinations", field)):
        where = f"{field}.destinations[{index}]"
        destination = _object(raw, where, _DESTINATION_KEYS)
        to = _string(destination, "to", where, most=64)
        assert to is not None
        out.append((to, _string(destination, "messageId", where, required=False, most=200)))
    return out


def _delivery_url(message: Mapping[str, Any], field: str, *, seen: bool = False) -> str | None:
    raw = message.get("webhooks")
    if raw is None:
        return None
    webhooks = _object(raw, f"{field}.webhooks", _WEBHOOK_SEEN_KEYS if seen else _WEBHOOK_KEYS)
    content_type = _string(webhooks, "contentType", f"{field}.webhooks", required=False)
    if content_type not in (None, "application/json", "application/xml"):
        raise _Bad(f"{field}.webhooks.contentType", "must be application/json or application/xml")
    if webhooks.get("seen") is not None:
        _url(_object(webhooks["seen"], f"{field}.webhooks.seen"), "url", f"{field}.webhooks.seen")
    delivery = webhooks.get("delivery")
    if delivery is None:
        return None
    where = f"{field}.webhooks.delivery"
    checked = _object(delivery, where, _DELIVERY_KEYS)
    return _url(checked, "url", where)


_SMS_KEYS = frozenset({"sender", "destinations", "content", "options", "webhooks"})
_SMS_CONTENT_KEYS = frozenset({"text", "transliteration", "language"})
_WA_KEYS = frozenset(
    {"from", "to", "messageId", "content", "callbackData", "notifyUrl", "urlOptions",
     "entityId", "applicationId", "context", "smsFailover"}
)  # fmt: skip
_TTS_KEYS = frozenset(
    {"audioFileUrl", "callTimeout", "callTransfers", "callbackData", "deliveryTimeWindow",
     "destinations", "dtmfTimeout", "from", "language", "machineDetection", "maxDtmf",
     "notifyContentType", "notifyContentVersion", "notifyUrl", "pause", "repeatDtmf", "retry",
     "ringTimeout", "sendAt", "sendingSpeed", "speechRate", "text", "validityPeriod", "voice"}
)  # fmt: skip


class _Entry:
    """One message of a request, checked: what is kept and reported if it is accepted."""

    __slots__ = ("channel", "content", "message_id", "report_url", "sender", "to")

    def __init__(
        self,
        channel: Channel,
        to: str,
        sender: str | None,
        message_id: str | None,
        content: dict[str, Any],
        report_url: str | None,
    ) -> None:
        self.channel = channel
        self.to = to
        self.sender = sender
        self.message_id = message_id
        self.content = content
        self.report_url = report_url


def _sms(body: Any) -> list[_Entry]:
    top = _object(body, "body", frozenset({"messages", "options"}))
    entries: list[_Entry] = []
    for index, raw in enumerate(_list(top, "messages", "body")):
        field = f"messages[{index}]"
        message = _object(raw, field, _SMS_KEYS)
        sender = _string(message, "sender", field, required=False, most=64)
        content = _object(message.get("content"), f"{field}.content", _SMS_CONTENT_KEYS)
        text = _string(content, "text", f"{field}.content", most=4096)
        url = _delivery_url(message, field)
        for to, message_id in _destinations(message, field):
            entries.append(_Entry("sms", to, sender, message_id, {"text": text}, url))
    return entries


def _whatsapp_text(body: Any) -> list[_Entry]:
    message = _object(body, "body", _WA_KEYS)
    sender = _string(message, "from", "body", most=24)
    to = _string(message, "to", "body", most=24)
    content = _object(message.get("content"), "content", frozenset({"text", "previewUrl"}))
    text = _string(content, "text", "content", most=4096)
    message_id = _string(message, "messageId", "body", required=False, most=200)
    url = _url(message, "notifyUrl", "body")
    assert to is not None
    return [_Entry("whatsapp", to, sender, message_id, {"text": text}, url)]


def _whatsapp_template(body: Any) -> list[_Entry]:
    top = _object(body, "body", frozenset({"messages", "bulkId"}))
    entries: list[_Entry] = []
    for index, raw in enumerate(_list(top, "messages", "body")):
        field = f"messages[{index}]"
        message = _object(raw, field, _WA_KEYS)
        sender = _string(message, "from", field, most=24)
        to = _string(message, "to", field, most=24)
        where = f"{field}.content"
        content = _object(
            message.get("content"), where, frozenset({"templateName", "templateData", "language"})
        )
        name = _string(content, "templateName", where, most=512)
        language = _string(content, "language", where, most=16)
        data = _object(content.get("templateData"), f"{where}.templateData")
        body_data = _object(
            data.get("body"), f"{where}.templateData.body", frozenset({"placeholders"})
        )
        placeholders = body_data.get("placeholders")
        if not isinstance(placeholders, list) or not all(isinstance(p, str) for p in placeholders):
            raise _Bad(f"{where}.templateData.body.placeholders", "must be a list of strings")
        message_id = _string(message, "messageId", field, required=False, most=200)
        url = _url(message, "notifyUrl", field)
        kept = {"templateName": name, "language": language, "placeholders": placeholders}
        assert to is not None
        entries.append(_Entry("whatsapp", to, sender, message_id, kept, url))
    return entries


def _viber_content(raw: Any, where: str) -> dict[str, Any]:
    content = _object(raw, where)
    kind = content.get("type")
    if kind == "TEXT":
        _object(content, where, frozenset({"type", "text", "button"}))
        _string(content, "text", where, most=1000)
    elif kind == "IMAGE":
        _object(
            content,
            where,
            frozenset({"type", "text", "mediaUrl", "button", "showImageInFullScreen"}),
        )
        if _url(content, "mediaUrl", where) is None:
            raise _Bad(f"{where}.mediaUrl", "must not be null")
        _string(content, "text", where, required=False, most=1000)
    else:
        raise _Bad(f"{where}.type", "must be TEXT or IMAGE")
    if content.get("button") is not None:
        button = _object(content["button"], f"{where}.button", frozenset({"title", "action"}))
        _string(button, "title", f"{where}.button", most=30)
        _string(button, "action", f"{where}.button", most=1000)
    return content


def _viber(body: Any) -> list[_Entry]:
    top = _object(body, "body", frozenset({"messages", "options"}))
    entries: list[_Entry] = []
    for index, raw in enumerate(_list(top, "messages", "body")):
        field = f"messages[{index}]"
        message = _object(raw, field, _SMS_KEYS)
        sender = _string(message, "sender", field, most=64)
        content = _viber_content(message.get("content"), f"{field}.content")
        url = _delivery_url(message, field, seen=True)
        for to, message_id in _destinations(message, field):
            entries.append(_Entry("viber", to, sender, message_id, content, url))
    return entries


def _voice(body: Any) -> list[_Entry]:
    top = _object(body, "body", frozenset({"messages", "bulkId", "tracking"}))
    entries: list[_Entry] = []
    for index, raw in enumerate(_list(top, "messages", "body")):
        field = f"messages[{index}]"
        message = _object(raw, field, _TTS_KEYS)
        text = _string(message, "text", field, required=False, most=1400)
        if text is None and message.get("audioFileUrl") is None:
            raise _Bad(f"{field}.text", "text or audioFileUrl must be given")
        content_type = _string(message, "notifyContentType", field, required=False)
        if content_type not in (None, "application/json", "application/xml"):
            raise _Bad(f"{field}.notifyContentType", "must be application/json or application/xml")
        content = {
            "text": text,
            "language": _string(message, "language", field, required=False, most=16),
            "maxDtmf": _positive(message, "maxDtmf", field),
            "dtmfTimeout": _positive(message, "dtmfTimeout", field),
        }
        sender = _string(message, "from", field, required=False, most=24)
        url = _url(message, "notifyUrl", field)
        for to, message_id in _destinations(message, field):
            entries.append(_Entry("voice", to, sender, message_id, content, url))
    return entries


def _email(form: Mapping[str, list[str]]) -> list[_Entry]:
    def one(name: str, required: bool = False) -> str | None:
        values = form.get(name) or []
        if len(values) > 1:
            raise _Bad(name, "must be given once")
        value = values[0] if values else None
        if required and not (value and value.strip()):
            raise _Bad(name, "must not be blank")
        return value

    sender = one("from", required=True)
    subject = one("subject", required=True)
    html, text = one("html"), one("text")
    if not (html or text or one("templateId")):
        raise _Bad("text", "one of text, html or templateId must be given")
    recipients = form.get("to") or []
    if not recipients:
        raise _Bad("to", "must not be blank")
    content_type = one("notifyContentType")
    if content_type not in (None, "application/json", "application/xml"):
        raise _Bad("notifyContentType", "must be application/json or application/xml")
    if one("track") not in (None, "true", "false"):
        raise _Bad("track", "must be true or false")
    headers: Any = None
    raw_headers = one("headers")
    if raw_headers is not None:
        try:
            headers = json.loads(raw_headers)
        except ValueError:
            raise _Bad("headers", "must be a JSON object") from None
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise _Bad("headers", "must be a JSON object of strings")
    notify = one("notifyUrl")
    if notify is not None and not notify.startswith(("http://", "https://")):
        raise _Bad("notifyUrl", "must be a valid URL")
    message_id = one("messageId")
    content = {
        "subject": subject,
        "html": html,
        "text": text,
        "replyTo": one("replyTo"),
        "headers": headers,
        "track": one("track"),
    }
    return [
        _Entry("email", to, sender, message_id if len(recipients) == 1 else None, content, notify)
        for to in recipients
    ]


class InfobipStandin:
    """Infobip's API on loopback (see the module doc); settings are plain attributes that a
    test may change between requests."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        report_delay: float = 0.0,
        fates: Mapping[str, Fate] | None = None,
        number_fates: Mapping[str, Fate] | None = None,
        operator_first: bool = False,
        price: float = 0.01,
        currency: str = "EUR",
        voice_digits: str = "1234",
        report_batch: int = 100,
        report_retries: int = 5,
        report_retry_delay: float = 0.05,
        report_parallel: int = 8,
        keep: bool = True,
        reject_numbers: frozenset[str] = frozenset(),
        reject_duplicates: bool = False,
        answer_delay: float = 0.0,
        call_event_delay: float = 0.0,
    ) -> None:
        self.api_key = api_key
        # seconds between accepting a request's messages and answering it (a crash test
        # kills the sender while its batch is at the provider)
        self.answer_delay = answer_delay
        self.duplicates = 0  # messages sent again with a messageId already accepted
        self.report_delay = report_delay
        self.fates: dict[str, Fate] = {
            "sms": "delivered",
            "whatsapp": "delivered",
            "viber": "delivered",
            "voice": "delivered",
            "email": "delivered",
            **(fates or {}),
        }
        self.number_fates: dict[str, Fate] = dict(number_fates or {})
        self.operator_first = operator_first
        self.price = price
        self.currency = currency
        self.voice_digits = voice_digits
        self.report_batch = report_batch
        self.report_retries = report_retries
        self.report_retry_delay = report_retry_delay
        self.reject_numbers = reject_numbers
        self.reject_duplicates = reject_duplicates
        # `messages` kept (tests read them); the bench keeps only their ids, for
        # de-duplication (dictionaries cost 1.1-1.7 µs a message, and 0.75 GB a million)
        self.keep = keep
        # What it saw and did, for tests and the bench.
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, int]] = []  # (path, messages in the request)
        self.reports_posted = 0  # reports in POSTs answered 2xx
        self.report_posts = 0  # POSTs answered 2xx
        self.report_failures = 0  # tries not answered 2xx
        self.reports_dropped = 0  # reports given up after report_retries
        self._host = host
        self._port = port
        self._seen: set[str] = set()  # the messageIds taken
        self._failures = 0
        self._failure_status = 429
        self._failure_retry_after: float | None = None
        self._heap: list[tuple[float, int, str, list[dict[str, Any]]]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set: no report queued or being posted
        self._idle.set()
        self._slots = asyncio.Semaphore(report_parallel)
        self._parallel = report_parallel
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._pump_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.calls = CallsStandin(self._gate, lambda: self._session, event_delay=call_event_delay)

    # --- life ---

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/sms/3/messages", self._json_endpoint(_sms, "sms"))
        app.router.add_post(
            "/whatsapp/1/message/text", self._json_endpoint(_whatsapp_text, "whatsapp-text")
        )
        app.router.add_post(
            "/whatsapp/1/message/template", self._json_endpoint(_whatsapp_template, "template")
        )
        app.router.add_post("/viber/2/messages", self._json_endpoint(_viber, "viber"))
        app.router.add_post("/tts/3/advanced", self._json_endpoint(_voice, "voice"))
        app.router.add_post("/email/3/send", self._email_endpoint)
        self.calls.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        address = self._runner.addresses[0]
        self.url = f"http://{self._host}:{address[1]}"
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._parallel),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        self._pump_task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
            self._pump_task = None
        for task in [*self._tasks, *self.calls.tasks()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self.calls.tasks(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> InfobipStandin:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- knobs ---

    def fail_next(self, count: int, status: int = 429, retry_after: float | None = 1.0) -> None:
        """Answer the next `count` API requests with `status` (429 carries `Retry-After`)."""
        self._failures = count
        self._failure_status = status
        self._failure_retry_after = retry_after

    def fate_of(self, channel: str, to: str) -> Fate:
        if not self.number_fates:
            return self.fates.get(channel, "delivered")
        bare = to.removeprefix("+")
        for key in (to, bare, "+" + bare):
            if key in self.number_fates:
                return self.number_fates[key]
        return self.fates.get(channel, "delivered")

    async def drain(self) -> None:
        """Wait until every queued report and call event has been posted (or given up);
        bound it with `asyncio.timeout` when a report may be late."""
        await self._idle.wait()
        await self.calls.drain()

    # --- the API ---

    def _json_endpoint(self, parse: Any, kind: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            refused = self._gate(request)
            if refused is not None:
                return refused
            if request.content_type != "application/json":
                self.requests.append((request.path, 0))
                text = f"Content type '{request.content_type}' not supported"
                return web.json_response(_error("BAD_REQUEST", text), status=415)
            raw = await request.read()
            if kind == "sms":  # a plain one read by msgspec (standins/infobip_sms.py)
                answered = self._plain_sms(request.path, raw)
                if answered is not None:
                    return await self._answered(answered)
            try:
                body = orjson.loads(raw)
            except ValueError:
                self.requests.append((request.path, 0))
                return web.json_response(_error("BAD_REQUEST", "Bad request"), status=400)
            return await self._answered(self._accept(request.path, kind, parse, body))

        return handle

    async def _answered(self, answer: web.Response) -> web.Response:
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return answer

    async def _email_endpoint(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        if request.content_type != "multipart/form-data":
            self.requests.append((request.path, 0))
            text = f"Content type '{request.content_type}' not supported"
            return web.json_response(_error("BAD_REQUEST", text), status=415)
        posted = await request.post()
        form: dict[str, list[str]] = {}
        for name, value in posted.items():
            if isinstance(value, str):
                form.setdefault(name, []).append(value)
        return self._accept(request.path, "email", _email, form)

    def _gate(self, request: web.Request) -> web.Response | None:
        """An injected failure or a 401, before anything is checked or kept."""
        if self._failures > 0:
            self._failures -= 1
            self.requests.append((request.path, 0))
            status = self._failure_status
            headers = {}
            if status == 429:
                if self._failure_retry_after is not None:
                    headers["Retry-After"] = f"{self._failure_retry_after:g}"
                body = _error("TOO_MANY_REQUESTS", "Too many requests")
            else:
                body = _error("GENERAL_ERROR", "Something went wrong. Please contact support.")
            return web.json_response(body, status=status, headers=headers)
        if request.headers.get("Authorization") != f"App {self.api_key}":
            self.requests.append((request.path, 0))
            return web.json_response(_error("UNAUTHORIZED", "Invalid login details"), status=401)
        return None

    def _accept(self, path: str, kind: str, parse: Any, body: Any) -> web.Response:
        try:
            entries: list[_Entry] = parse(body)
        except _Bad as bad:
            self.requests.append((path, 0))
            errors = {bad.field: [bad.problem]}
            return web.json_response(_error("BAD_REQUEST", "Bad request", errors), status=400)
        self.requests.append((path, len(entries)))
        bulk = str(uuid.uuid4())
        now = asyncio.get_running_loop().time()
        stamp = _stamp()
        answers: list[dict[str, Any]] = []
        outgoing: dict[str, list[Any]] = {}  # reports of this request, by URL
        pending = ENROUTE if kind in ("whatsapp-text", "template") else ACCEPTED
        for entry in entries:
            message_id = entry.message_id or str(uuid.uuid4())
            status: dict[str, Any] = pending
            if not self._addressable(entry) or entry.to in self.reject_numbers:
                status = REJECTED_DESTINATION
            elif message_id in self._seen:
                self.duplicates += 1
                status = REJECTED_DUPLICATE if self.reject_duplicates else pending
            else:
                self._seen.add(message_id)
                if self.keep:
                    kept = _kept(
                        entry.channel, entry.to, entry.sender, entry.content, message_id, path
                    )
                    self.messages.append(kept)
                if entry.report_url is not None:
                    reports = self._reports(entry, message_id, bulk, stamp)
                    if reports:
                        outgoing.setdefault(entry.report_url, []).extend(reports)
            answers.append(_answer(kind, entry, message_id, status))
        self._queue(outgoing, now)
        if kind == "whatsapp-text":
            return web.json_response(answers[0], dumps=_dumps)
        return web.json_response({"bulkId": bulk, "messages": answers}, dumps=_dumps)

    def _queue(self, outgoing: Mapping[str, list[Any]], now: float) -> None:
        """Queue a request's reports (by URL), due `report_delay` after `now`."""
        if outgoing:
            # One heap entry per URL and request, not per report: the heap stays small.
            due = now + self.report_delay
            for url, reports in outgoing.items():
                heapq.heappush(self._heap, (due, next(self._order), url, reports))
            self._idle.clear()
            self._wake.set()

    def _plain_sms(self, path: str, body: bytes) -> web.Response | None:
        """A plain SMS request answered, its messages kept and reported, as `_accept`
        would (standins/infobip_sms.py); None, with nothing kept, for any other."""
        if self.number_fates or self.operator_first or self.reject_numbers:
            return None
        if self.fates.get("sms", "delivered") != "delivered":
            return None
        plain = infobip_sms.read(body, _PHONE.fullmatch)
        if plain is None or not self._seen.isdisjoint(plain.ids):
            return None
        bulk = str(uuid.uuid4())
        stamp = _stamp()
        price = {"pricePerMessage": self.price, "currency": self.currency}
        answers: list[infobip_sms.Answer] = []
        outgoing: dict[str, list[Any]] = {}
        seen = self._seen.add
        keep = self.messages.append if self.keep else None
        for message, url in zip(plain.messages, plain.urls, strict=True):
            text = message.content.text
            sender = message.sender
            reports = None if url is None else outgoing.setdefault(url, [])
            for destination in message.destinations:
                to = destination.to
                message_id = destination.messageId or str(uuid.uuid4())
                seen(message_id)
                if keep is not None:
                    keep(_kept("sms", to, sender, {"text": text}, message_id, path))
                if reports is not None:
                    reports.append(
                        infobip_sms.Report(
                            bulk, message_id, to, stamp, stamp, 1, price, TO_HANDSET, NO_ERROR,
                            "21901", sender or None,
                        )
                    )  # fmt: skip
                answers.append(infobip_sms.Answer(message_id, ACCEPTED, to, infobip_sms.ONE_PART))
        self.requests.append((path, plain.count))
        self._queue(outgoing, asyncio.get_running_loop().time())
        body = infobip_sms.ENCODE(infobip_sms.Answers(bulk, answers))
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    @staticmethod
    def _addressable(entry: _Entry) -> bool:
        if entry.channel == "email":
            return "@" in entry.to
        return _PHONE.fullmatch(entry.to) is not None

    # --- reports ---

    def _reports(
        self, entry: _Entry, message_id: str, bulk: str, stamp: str
    ) -> list[dict[str, Any]]:
        """The reports one accepted message will get, in the order they are posted."""
        fate = self.fate_of(entry.channel, entry.to)
        if fate == "none":
            return []
        head = {"bulkId": bulk, "messageId": message_id, "to": entry.to, "sentAt": stamp}
        reports: list[dict[str, Any]] = []
        if entry.channel == "voice":
            reports.append(self._voice_report(entry, head, fate, stamp))
        else:
            if fate == "delivered" and self.operator_first and entry.channel in _OPERATOR_FIRST:
                reports.append(self._report(entry, head, TO_OPERATOR, NO_ERROR, stamp))
            if fate == "delivered":
                reports.append(self._report(entry, head, TO_HANDSET, NO_ERROR, stamp))
            else:
                reports.append(self._report(entry, head, NOT_DELIVERED, ABSENT_SUBSCRIBER, stamp))
        return reports

    def _report(
        self,
        entry: _Entry,
        head: dict[str, Any],
        status: dict[str, Any],
        error: dict[str, Any],
        stamp: str,
    ) -> dict[str, Any]:
        report = dict(head)
        if entry.channel in ("sms", "viber") and entry.sender:
            report["sender"] = entry.sender
        report.update(
            doneAt=stamp,
            messageCount=1,
            price={"pricePerMessage": self.price, "currency": self.currency},
            status=status,
            error=error,
        )
        if entry.channel == "sms":
            report["mccMnc"] = "21901"
        return report

    def _voice_report(
        self, entry: _Entry, head: dict[str, Any], fate: Fate, stamp: str
    ) -> dict[str, Any]:
        answered = fate == "delivered"
        most = entry.content.get("maxDtmf")
        digits = self.voice_digits[:most] if answered and isinstance(most, int) else ""
        call: dict[str, Any] = {
            "feature": "Text-to-Speech",
            "startTime": stamp,
            "answerTime": stamp if answered else None,
            "endTime": stamp,
            "duration": 12 if answered else 0,
            "chargedDuration": 12 if answered else 0,
            "fileDuration": 9.5,
            "dtmfCodes": digits if isinstance(most, int) else None,
        }
        return {
            **head,
            "from": entry.sender,
            "mccMnc": "21901",
            "voiceCall": call,
            "price": {"pricePerSecond": self.price, "currency": self.currency},
            "status": TO_HANDSET if answered else NOT_DELIVERED,
            "error": NO_ERROR if answered else NO_ANSWER,
        }

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = loop.time()
            due = self._heap[0][0]
            if due > now:
                self._wake.clear()
                try:
                    async with asyncio.timeout(due - now):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            buckets: dict[str, list[dict[str, Any]]] = {}
            taken = 0
            while self._heap and self._heap[0][0] <= now and taken < _TAKE_PER_ROUND:
                _, _, url, reports = heapq.heappop(self._heap)
                buckets.setdefault(url, []).extend(reports)
                taken += len(reports)
            size = max(1, self.report_batch)
            chunks = [
                (url, reports[start : start + size])
                for url, reports in buckets.items()
                for start in range(0, len(reports), size)
            ]
            # Counted before the first await, so `drain` cannot see a moment with nothing
            # queued and nothing in flight while these wait for a slot.
            self._in_flight += len(chunks)
            for url, chunk in chunks:
                await self._slots.acquire()
                task = asyncio.create_task(self._post(url, chunk))
                self._tasks.add(task)
                task.add_done_callback(self._posted)

    def _posted(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        self._slots.release()
        if not self._in_flight and not self._heap:
            self._idle.set()

    async def _post(self, url: str, reports: list[dict[str, Any]]) -> None:
        """POST one bucket of reports until it is answered 2xx, at most `report_retries`
        more times, as Infobip retries a report its receiver did not take."""
        assert self._session is not None
        body = infobip_sms.ENCODE({"results": reports})  # dictionaries and records
        headers = {"Content-Type": "application/json"}
        for attempt in range(self.report_retries + 1):
            try:
                async with self._session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        self.reports_posted += len(reports)
                        self.report_posts += 1
                        return
            except (aiohttp.ClientError, TimeoutError, OSError):
                pass
            self.report_failures += 1
            if attempt < self.report_retries:
                pause = self.report_retry_delay * 2**attempt
                await asyncio.sleep(min(pause, _REPORT_BACKOFF_CAP))
        self.reports_dropped += len(reports)

    # --- inbound ---

    async def post_inbound(
        self, url: str, channel: str, from_: str, to: str, text: str, *, message_id: str = ""
    ) -> int:
        """Post one inbound message (or, for `voice`, an incoming call) to `url` in Infobip's
        inbound format; the receiver's HTTP status."""
        assert self._session is not None
        sender, ours = from_.removeprefix("+"), to.removeprefix("+")
        message_id = message_id or str(uuid.uuid4())
        stamp = _stamp()
        price = {"pricePerMessage": 0.0, "currency": self.currency}
        payload: dict[str, Any]
        if channel == "sms":
            words = text.split()
            result = {
                "messageId": message_id,
                "from": sender,
                "to": ours,
                "text": text,
                "cleanText": " ".join(words[1:]),
                "keyword": words[0].upper() if words else "",
                "receivedAt": stamp,
                "smsCount": 1,
                "price": price,
                "callbackData": None,
            }
            payload = {"results": [result], "messageCount": 1, "pendingMessageCount": 0}
        elif channel in ("whatsapp", "viber"):
            result = {
                "from" if channel == "whatsapp" else "sender": sender,
                "to": ours,
                "integrationType": "WHATSAPP" if channel == "whatsapp" else "VIBER_BM",
                "receivedAt": stamp,
                "messageId": message_id,
                "pairedMessageId": None,
                "callbackData": None,
                "message": {"text": text, "type": "TEXT"},
                "price": price,
            }
            if channel == "whatsapp":
                result["contact"] = {"name": "Stand-in"}
            payload = {"results": [result], "messageCount": 1, "pendingMessageCount": 0}
        elif channel == "voice":
            call = {
                "id": message_id,
                "endpoint": {"type": "PHONE", "phoneNumber": sender},
                "from": sender,
                "to": ours,
                "direction": "INBOUND",
                "state": "CALLING",
                "media": {"audio": {"muted": False, "userMuted": False, "deaf": False}},
                "startTime": stamp,
            }
            payload = {
                "callId": message_id,
                "timestamp": stamp,
                "properties": {"call": call},
                "type": "CALL_RECEIVED",
            }
        else:
            raise ValueError(f"no inbound format for {channel!r}")
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        async with self._session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status


def _kept(
    channel: str, to: str, sender: str | None, content: Any, message_id: str, path: str
) -> dict[str, Any]:
    """An accepted message as `messages` keeps it."""
    return {"channel": channel, "to": to, "from": sender, "content": content,
            "messageId": message_id, "path": path}  # fmt: skip


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _answer(kind: str, entry: _Entry, message_id: str, status: dict[str, Any]) -> dict[str, Any]:
    """One message's part of the send answer, in the endpoint's documented shape."""
    if kind in ("sms", "viber"):
        return {
            "messageId": message_id,
            "status": status,
            "destination": entry.to,
            "details": {"messageCount": 1},
        }
    if kind in ("whatsapp-text", "template"):
        return {"to": entry.to, "messageCount": 1, "messageId": message_id, "status": status}
    return {"to": entry.to, "messageId": message_id, "status": status}
