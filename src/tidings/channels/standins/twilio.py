"""A loopback stand-in for Twilio's Programmable Messaging and Voice APIs (an aiohttp server on
127.0.0.1).

It answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as Twilio does:

- HTTP Basic auth `AccountSid:AuthToken`; a wrong or missing one is 401 with Twilio's error
  JSON `{"code": 20003, "message": "Authenticate", "more_info", "status": 401}`; another
  account's path is 404 (20404).
- Form fields checked as Twilio checks them: `To` (21604 when missing, 21211 when not a
  number), `From` or `MessagingServiceSid` (21603), `Body`, `ContentSid` or `MediaUrl`
  (21602), a `Body` over 1600 characters (21617), a `ContentSid` that is not `HX` + 32 hex
  (21655), `ContentVariables` that are not a JSON object (21656), a `StatusCallback` that is
  not an http(s) URL (21609), WhatsApp and non-WhatsApp addresses mixed (21910); numbers in
  `blocked` are refused with 21610 (an unsubscribed recipient).
- 201 with a Message resource (`sid` "SM" + 32 hex, `status` "queued", `price` as
  configured, Twilio's negative string or null).
- It keeps what it accepted (`messages`, `by_sid`). Like Twilio it de-duplicates nothing:
  a request repeated with the same `I-Twilio-Idempotency-Token` header (our outbox id) is
  a second message, stored and reported again (`duplicates` counts such repeats).
- `answer_delay` seconds pass between keeping a message (or call) and answering its 201
  (a crash test kills the server while requests wait there).
- `GET .../Messages.json` and `GET .../Calls.json` list what it keeps, newest first, in
  Twilio's page shape (`{"messages"|"calls": [...], "page", "page_size", "start", "end",
  "uri", "first_page_uri", "next_page_uri", "previous_page_uri"}`), filtered by `To`,
  `From`, `DateSent>=` / `StartTime>=` (YYYY-MM-DD; a queued message has no date sent, so
  it is left out, as Twilio does) and `PageSize` (1 to 1000, default 50); `lookups`
  counts them.
- After `report_delay` seconds it posts status callbacks to the message's `StatusCallback`,
  form-encoded and signed with `X-Twilio-Signature` (the account's auth token), in order:
  `queued`, `sent`, then the final status of the message's fate: `delivered`,
  `undelivered` (ErrorCode 30003), `failed` (ErrorCode 30008), `read` (after `delivered`),
  `sent` (no final report) or `none` (no callback at all). The fate is looked up by number
  (`To` without its `whatsapp:` prefix), then by channel (`sms`, `whatsapp`), then
  `default_fate`. `progress=False` posts only the final status (what a bench wants).
- `fail_next(n, status, retry_after)` answers the next n requests with 429 (20429, with a
  `Retry-After` header) or a 5xx (20500), before anything else is checked.
- `post_inbound(url, from_, to, body, channel)` posts Twilio's incoming-message webhook,
  signed, and answers the HTTP status it got.

Calls: `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`, the same Basic auth, 429/5xx
injection and no de-duplication:

- Form fields checked: `To` (21201 when missing, 21211 when not a number), `From` (21213),
  `Twiml` or `Url` (21205 "Url parameter is required"), a `StatusCallback` that is not an
  http(s) URL (21609). An inline `Twiml` that is not a `<Response>` document is refused at
  once with 12100 (Document parse failure); real Twilio takes the request and fails the
  call later, which a test would notice less clearly. A `Url` is kept but never fetched.
- 201 with a Call resource (`sid` "CA" + 32 hex, `status` "queued"). The call is kept in
  `messages` (and `by_sid`) as a `StandinMessage` with channel "voice", its `twiml` and,
  when the TwiML has one, its `<Gather>` (`action`, `method`, `numDigits`, `timeout`) and
  what it says.
- After `report_delay` the call happens, by its fate (by number, then by channel "voice",
  then `default_fate`): `completed` (also what delivered, read and sent mean for a call),
  `no-answer` (also undelivered), `busy`, `failed`, `canceled`, or `none` (nothing at all).
  An answered call with a `<Gather action>` first requests the action, signed, with
  `Digits` = `voice_digits` cut to `numDigits` (no request when `voice_digits` is empty: the
  person pressed nothing; always POSTed) and keeps the TwiML it gets back (`Posted.answer`),
  then posts the `completed` status callback: Twilio ends a call only after the action's
  TwiML has run, so the digits always arrive first. Status callbacks go to `StatusCallback`
  for the events named in `StatusCallbackEvent` (initiated, ringing, answered, completed;
  none named: completed only, as Twilio does); `progress=False` posts only the final one.
  For an SMS or WhatsApp message the call fates mean: completed -> delivered, the others ->
  undelivered.

A call's resource is also answered to `GET .../Calls/{CallSid}.json` (`price_fetches`
counts them): its `price` is null until the call has ended, then `call_price` (Twilio's
negative string) after `call_price_after` reads that still answer null. Incoming calls
(a person dialling the account's number, run by the TwiML Tidings answers, and the
live-call updates `POST .../Calls/{CallSid}.json`) are `calls` (standins/twilio_calls.py).

No per-message sleeps: callbacks wait in one FIFO (their due times are in order, as the
delay is constant) drained by one task, which posts each message's sequence in its own task,
at most `callback_concurrency` at a time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import urlparse
from xml.etree import ElementTree

import aiohttp
from aiohttp import web

from tidings.channels.standins.twilio_calls import TwilioCalls
from tidings.channels.standins.twilio_errors import TwilioError
from tidings.channels.standins.twilio_errors import error as _error
from tidings.channels.standins.twilio_errors import pairs as _pairs
from tidings.channels.twilio import (
    API_VERSION,
    CONTENT_SID,
    MESSAGING_SERVICE_SID,
    WHATSAPP_PREFIX,
    signature,
)
from tidings.domain.sms import parts

Fate = Literal[
    "delivered",
    "undelivered",
    "failed",
    "read",
    "sent",
    "none",
    "completed",
    "no-answer",
    "busy",
    "canceled",
]

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SEQUENCES: dict[str, tuple[str, ...]] = {
    "delivered": ("queued", "sent", "delivered"),
    "undelivered": ("queued", "sent", "undelivered"),
    "failed": ("queued", "failed"),
    "read": ("queued", "sent", "delivered", "read"),
    "sent": ("queued", "sent"),
    "none": (),
}
_ERROR_CODES = {"undelivered": "30003", "failed": "30008"}
# what a fate means for the other kind: a call's fate for a message, a message's for a call
_AS_MESSAGE: dict[str, Fate] = {
    "completed": "delivered",
    "no-answer": "undelivered",
    "busy": "undelivered",
    "canceled": "undelivered",
}
_AS_CALL: dict[str, Fate] = {
    "delivered": "completed",
    "read": "completed",
    "sent": "completed",
    "undelivered": "no-answer",
}
_CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass(frozen=True)
class Gather:
    """A call's `<Gather>`, as its TwiML says it."""

    action: str | None
    method: str
    num_digits: int | None
    timeout: int | None
    say: str  # what is said inside it


@dataclass
class StandinMessage:
    """A message (or a call) the stand-in accepted."""

    sid: str
    channel: str  # "sms", "whatsapp" or "voice"
    to: str  # as sent, prefix included
    from_: str | None
    body: str | None
    content_sid: str | None
    content_variables: dict[str, Any] | None
    status_callback: str | None
    idempotency_token: str | None
    form: dict[str, str]
    statuses: list[str] = field(default_factory=list)  # the callbacks posted, in order
    twiml: str | None = None  # a call's inline TwiML
    gather: Gather | None = None  # a call's <Gather>
    say: str | None = None  # what a call says (all its <Say>s)
    events: tuple[str, ...] = ()  # a call's StatusCallbackEvent values
    digits: str | None = None  # the Digits a call's Gather action was sent
    created_at: float = field(default_factory=time.time)  # when it was kept
    sent_at: float | None = None  # when its `sent` status (a call: its start) came
    ended_at: float | None = None  # a call's end (its final status)
    price_reads: int = 0  # reads of an ended call's resource (call_price_after)


@dataclass(frozen=True)
class Posted:
    """A callback the stand-in posted and the HTTP status it got (None: no answer)."""

    url: str
    form: dict[str, str]
    status: int | None
    answer: str = ""  # the body of the answer (a Gather action's TwiML)


class TwilioStandin:
    """See the module doc. `async with TwilioStandin() as twilio: twilio.url ...`."""

    def __init__(
        self,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        report_delay: float = 0.0,
        default_fate: Fate = "delivered",
        fates: Mapping[str, Fate] | None = None,
        progress: bool = True,
        price: str | None = None,
        price_unit: str = "USD",
        blocked: frozenset[str] = frozenset(),
        callback_concurrency: int = 64,
        keep_posted: bool = True,
        voice_digits: str = "1234",
        answer_delay: float = 0.0,
        call_price: str | None = None,
        call_price_after: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.report_delay = report_delay
        self.default_fate: Fate = default_fate
        self.fates: dict[str, Fate] = dict(fates or {})
        self.progress = progress
        self.price = price
        self.price_unit = price_unit
        self.blocked = set(blocked)
        self.keep_posted = keep_posted
        self.voice_digits = voice_digits
        self.messages: list[StandinMessage] = []
        self.by_sid: dict[str, StandinMessage] = {}
        self.posted: list[Posted] = []
        self.requests = 0
        self.duplicates = 0
        self.reports_posted = 0
        self.reports_failed = 0
        self._tokens: set[str] = set()  # the idempotency tokens seen (nothing is dropped)
        self.lookups = 0
        self.price_fetches = 0
        self.answer_delay = answer_delay
        self.call_price = call_price
        self.call_price_after = call_price_after
        self._failures: deque[tuple[int, float | None]] = deque()
        self._queue: deque[tuple[float, StandinMessage]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._in_flight = 0
        self._slots = asyncio.Semaphore(callback_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._callback_limit = callback_concurrency
        self.port = 0
        self.calls = TwilioCalls(self)  # incoming calls (standins/twilio_calls.py)

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The client session the stand-in posts callbacks with (None until started)."""
        return self._session

    def authenticate(self, request: web.Request) -> None:
        """Basic auth `AccountSid:AuthToken` and the account's own path, or TwilioError."""
        self._authenticate(request)

    @property
    def url(self) -> str:
        """The base URL to give the provider as `baseUrl`."""
        return f"http://127.0.0.1:{self.port}"

    def messages_url(self, account_sid: str | None = None) -> str:
        sid = account_sid or self.account_sid
        return f"{self.url}/{API_VERSION}/Accounts/{sid}/Messages.json"

    def calls_url(self, account_sid: str | None = None) -> str:
        sid = account_sid or self.account_sid
        return f"{self.url}/{API_VERSION}/Accounts/{sid}/Calls.json"

    # lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{version}/Accounts/{sid}/Messages.json", self._messages)
        app.router.add_post("/{version}/Accounts/{sid}/Calls.json", self._calls)
        app.router.add_get("/{version}/Accounts/{sid}/Messages.json", self._list)
        app.router.add_get("/{version}/Accounts/{sid}/Calls.json", self._list)
        app.router.add_get("/{version}/Accounts/{sid}/Calls/{call}.json", self._fetch_call)
        self.calls.routes(app, lambda _request: self._injected())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        connector = aiohttp.TCPConnector(limit=self._callback_limit)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=10), trust_env=False
        )
        self._worker = asyncio.create_task(self._drain())

    async def stop(self) -> None:
        for call in self.calls.calls.values():
            if call.task is not None:
                call.task.cancel()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TwilioStandin:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # control

    def fail_next(self, n: int, status: int = 429, retry_after: float | None = 1.0) -> None:
        """Answer the next `n` requests with `status` (429: with `Retry-After`)."""
        for _ in range(n):
            self._failures.append((status, retry_after))

    def fate_of(self, message: StandinMessage) -> Fate:
        number = message.to.removeprefix(WHATSAPP_PREFIX)
        fate = self.fates.get(number) or self.fates.get(message.channel) or self.default_fate
        if message.channel == "voice":
            return _AS_CALL.get(fate, fate)
        return _AS_MESSAGE.get(fate, fate)

    async def report_again(self, seconds: float = 30.0) -> None:
        """Post every kept message's status callbacks (by its fate now) once more, and wait
        until they are posted (a test that held them back with the fate `none`)."""
        for message in self.messages:
            self._schedule(message)
        await self.settle(seconds)

    async def settle(self, seconds: float = 5.0) -> None:
        """Wait (at most `seconds`) until every callback queued so far has been posted."""
        async with asyncio.timeout(seconds):
            while self._queue or self._in_flight:
                self._idle.clear()
                await self._idle.wait()

    # the Messages API

    def _injected(self) -> web.Response | None:
        """The next 429 / 5xx `fail_next` asked for, if any."""
        if not self._failures:
            return None
        status, after = self._failures.popleft()
        headers = {"Retry-After": f"{after:g}"} if status == 429 and after is not None else {}
        code, words = (
            (20429, "Too Many Requests") if status == 429 else (20500, "Internal Server Error")
        )
        return _error(TwilioError(status, code, words), headers)

    async def _messages(self, request: web.Request) -> web.Response:
        async def accept(token: str | None) -> tuple[StandinMessage, dict[str, Any]]:
            message = self._accept(await _form(request), token)
            return message, self._resource(message)

        return await self._create(request, accept)

    # the Calls API

    async def _calls(self, request: web.Request) -> web.Response:
        async def accept(token: str | None) -> tuple[StandinMessage, dict[str, Any]]:
            call = self._accept_call(await _pairs(request), token)
            return call, self._call_resource(call)

        return await self._create(request, accept)

    async def _create(
        self,
        request: web.Request,
        accept: Callable[[str | None], Awaitable[tuple[StandinMessage, dict[str, Any]]]],
    ) -> web.Response:
        """One create request, as Twilio answers it: injected failures first, then auth,
        then `accept`ed (or its TwilioError), its callbacks scheduled, answered after
        `answer_delay`. A repeated idempotency token is counted, and is another message."""
        self.requests += 1
        injected = self._injected()
        if injected is not None:
            return injected
        try:
            self._authenticate(request)
            token = request.headers.get("I-Twilio-Idempotency-Token")
            if token is not None and token in self._tokens:
                self.duplicates += 1
            created, answer = await accept(token)
        except TwilioError as exc:
            return _error(exc)
        if token is not None:
            self._tokens.add(token)
        self._schedule(created)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return web.json_response(answer, status=201)

    async def _fetch_call(self, request: web.Request) -> web.Response:
        """`GET .../Calls/{CallSid}.json`: the Call resource (`price_fetches` counts them)."""
        self.price_fetches += 1
        injected = self._injected()
        if injected is not None:
            return injected
        try:
            self._authenticate(request)
            call = self.by_sid.get(request.match_info["call"])
            if call is None or call.channel != "voice":
                missing = f"The requested resource {request.path} was not found"
                raise TwilioError(404, 20404, missing)
        except TwilioError as exc:
            return _error(exc)
        return web.json_response(self._call_resource(call))

    async def _list(self, request: web.Request) -> web.Response:
        """`GET .../Messages.json` or `.../Calls.json`: a page of what it keeps."""
        self.lookups += 1
        injected = self._injected()
        if injected is not None:
            return injected
        try:
            self._authenticate(request)
        except TwilioError as exc:
            return _error(exc)
        calls = request.path.endswith("/Calls.json")
        query = request.query
        size_text = query.get("PageSize", "50")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 1000:
            return _error(TwilioError(400, 20001, "PageSize must be between 1 and 1000"))
        since = query.get("StartTime>=" if calls else "DateSent>=")
        found = []
        for kept in reversed(self.messages):
            if (kept.channel == "voice") != calls:
                continue
            if "To" in query and kept.to != query["To"]:
                continue
            if "From" in query and kept.from_ != query["From"]:
                continue
            if since is not None:  # only what has been sent (started) by then
                sent = kept.sent_at
                if sent is None or time.strftime("%Y-%m-%d", time.gmtime(sent)) < since:
                    continue
            found.append(kept)
        page = found[: int(size_text)]
        resources = [self._call_resource(c) if calls else self._resource(c) for c in page]
        uri = request.path_qs
        body = {
            "calls" if calls else "messages": resources,
            "end": max(len(page) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": int(size_text),
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }
        return web.json_response(body)

    def _accept_call(self, pairs: list[tuple[str, str]], token: str | None) -> StandinMessage:
        form = dict(pairs)
        to = form.get("To", "")
        if not to:
            raise TwilioError(400, 21201, "No 'To' number is specified")
        sender = form.get("From", "")
        if not sender:
            raise TwilioError(400, 21213, "No 'From' number is specified")
        if not _E164.fullmatch(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        document = form.get("Twiml") or None
        if document is None and not form.get("Url"):
            raise TwilioError(
                400,
                21205,
                "Url parameter is required. For more information, see "
                "http://www.twilio.com/docs/api/twiml",
            )
        callback = form.get("StatusCallback") or None
        if callback is not None:
            parsed = urlparse(callback)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback}")
        gather, say = _read_twiml(document) if document is not None else (None, None)
        events: list[str] = []
        for name, value in pairs:
            if name == "StatusCallbackEvent":
                events += value.split()
        call = StandinMessage(
            sid="CA" + os.urandom(16).hex(),
            channel="voice",
            to=to,
            from_=sender,
            body=None,
            content_sid=None,
            content_variables=None,
            status_callback=callback,
            idempotency_token=token,
            form=form,
            twiml=document,
            gather=gather,
            say=say,
            events=tuple(events) or ("completed",),
        )
        self.messages.append(call)
        self.by_sid[call.sid] = call
        return call

    def _call_resource(self, call: StandinMessage) -> dict[str, Any]:
        """A Call resource as Twilio answers it: priced (`call_price`, Twilio's negative
        string) only once the call has ended and `call_price_after` reads have gone."""
        now = _date(call.created_at)
        status = "queued" if call.sent_at is None else "in-progress"
        price = None
        if call.ended_at is not None:
            status = self.fate_of(call)
            if call.price_reads >= self.call_price_after:
                price = self.call_price
            call.price_reads += 1
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call.sid}"
        return {
            "account_sid": self.account_sid,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None if call.ended_at is None else "12",
            "end_time": None if call.ended_at is None else _date(call.ended_at),
            "forwarded_from": None,
            "from": call.from_,
            "from_formatted": call.from_,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": price,
            "price_unit": self.price_unit,
            "queue_time": "0",
            "sid": call.sid,
            "start_time": None if call.sent_at is None else _date(call.sent_at),
            "status": status,
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
            "to": call.to,
            "to_formatted": call.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    def _authenticate(self, request: web.Request) -> None:
        refused = TwilioError(401, 20003, "Authenticate")
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise refused
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise refused from None
        if user != self.account_sid or password != self.auth_token:
            raise refused
        if request.match_info["version"] != API_VERSION or request.match_info["sid"] != user:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")

    def _accept(self, form: dict[str, str], token: str | None) -> StandinMessage:
        to = form.get("To", "")
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        sender = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        if sender is None and service is None:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if service is not None and not MESSAGING_SERVICE_SID.fullmatch(service):
            raise TwilioError(400, 21701, "The Messaging Service Sid is invalid.")
        whatsapp = to.startswith(WHATSAPP_PREFIX)
        if not _E164.fullmatch(to.removeprefix(WHATSAPP_PREFIX)):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if sender is not None and sender.startswith(WHATSAPP_PREFIX) != whatsapp:
            raise TwilioError(
                400, 21910, "Invalid From and To pair. From and To should be of the same channel"
            )
        body = form.get("Body")
        content_sid = form.get("ContentSid") or None
        if not body and content_sid is None and not form.get("MediaUrl"):
            raise TwilioError(400, 21602, "Message body is required.")
        if body is not None and len(body) > 1600:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        variables: dict[str, Any] | None = None
        if content_sid is not None:
            if not CONTENT_SID.fullmatch(content_sid):
                raise TwilioError(400, 21655, "The ContentSid is Invalid")
            variables = _variables(form.get("ContentVariables"))
        callback = form.get("StatusCallback") or None
        if callback is not None:
            parsed = urlparse(callback)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback}")
        if to.removeprefix(WHATSAPP_PREFIX) in self.blocked:
            raise TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
        message = StandinMessage(
            sid="SM" + os.urandom(16).hex(),
            channel="whatsapp" if whatsapp else "sms",
            to=to,
            from_=sender,
            body=body,
            content_sid=content_sid,
            content_variables=variables,
            status_callback=callback,
            idempotency_token=token,
            form=form,
        )
        self.messages.append(message)
        self.by_sid[message.sid] = message
        return message

    def _resource(self, message: StandinMessage) -> dict[str, Any]:
        now = _date(message.created_at)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
        service = message.form.get("MessagingServiceSid")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body or "",
            "date_created": now,
            "date_sent": None if message.sent_at is None else _date(message.sent_at),
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(parts(message.body or "")),
            "price": self.price,
            "price_unit": self.price_unit,
            "sid": message.sid,
            "status": message.statuses[-1]
            if message.statuses
            else ("queued" if message.from_ else "accepted"),
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    # status callbacks

    def _schedule(self, message: StandinMessage) -> None:
        posts_nothing = message.status_callback is None and (
            message.gather is None or message.gather.action is None
        )
        if posts_nothing or self.fate_of(message) == "none":
            return
        due = asyncio.get_running_loop().time() + self.report_delay
        self._queue.append((due, message))
        self._wake.set()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if not self._in_flight:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            due, message = self._queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._slots.acquire()
            self._queue.popleft()
            self._in_flight += 1
            task = asyncio.create_task(self._report(message))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        self._in_flight -= 1
        if not self._in_flight and not self._queue:
            self._idle.set()

    async def _report(self, message: StandinMessage) -> None:
        message.sent_at = time.time()  # sent (a call: started)
        if message.channel == "voice":
            await self._call(message)
            return
        fate = self.fate_of(message)
        sequence = _SEQUENCES[fate]
        if not self.progress:
            sequence = sequence[-1:] if fate != "read" else ("delivered", "read")
        for status in sequence:
            await self._post_status(message, status)

    def status_form(self, message: StandinMessage, status: str) -> dict[str, str]:
        """The form of a status callback, as Twilio posts it."""
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.form.get("MessagingServiceSid"):
            form["MessagingServiceSid"] = message.form["MessagingServiceSid"]
        if status in _ERROR_CODES:
            form["ErrorCode"] = _ERROR_CODES[status]
        if message.channel == "whatsapp":
            form["ChannelPrefix"] = "whatsapp"
            form["ChannelToAddress"] = message.to.removeprefix(WHATSAPP_PREFIX)
        return form

    async def _post_status(self, message: StandinMessage, status: str) -> None:
        assert message.status_callback is not None
        form = self.status_form(message, status)
        token = f"{message.sid}-{status}"
        got = await self._post(message.status_callback, form, token)
        message.statuses.append(status)
        if got is not None and 200 <= got < 300:
            self.reports_posted += 1
        else:
            self.reports_failed += 1

    # calls

    async def _call(self, call: StandinMessage) -> None:
        """The call happens: its progress, its Gather action, its final status, in order."""
        fate = self.fate_of(call)
        if fate == "completed":
            progress: tuple[str, ...] = ("initiated", "ringing", "answered")
        elif fate == "no-answer":
            progress = ("initiated", "ringing")
        else:
            progress = ("initiated",)
        if self.progress:
            for event in progress:
                await self._post_call_status(call, event)
        gather = call.gather
        if fate == "completed" and gather is not None and gather.action is not None:
            digits = self.voice_digits
            if gather.num_digits:  # Twilio stops listening after numDigits keys
                digits = digits[: gather.num_digits]
            if digits:
                await self._post_gather(call, gather.action, digits)
        call.ended_at = time.time()
        await self._post_call_status(call, "completed")

    def call_form(self, call: StandinMessage, status: str) -> dict[str, str]:
        """The form of a call's status callback (or Gather action), as Twilio posts it."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_ or "",
            "Direction": "outbound-api",
            "From": call.from_ or "",
            "To": call.to,
        }

    async def _post_call_status(self, call: StandinMessage, event: str) -> None:
        """The status callback of `event` (the `completed` event carries the call's final
        status: completed, no-answer, busy, failed or canceled), if it was asked for."""
        if call.status_callback is None or event not in call.events:
            return
        status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(
            event
        ) or str(self.fate_of(call))
        form = self.call_form(call, status)
        form["CallbackSource"] = "call-progress-events"
        form["SequenceNumber"] = str(len(call.statuses))
        form["Timestamp"] = formatdate(usegmt=True).replace("GMT", "+0000")
        if event == "completed":
            seconds = "12" if status == "completed" else "0"
            form["CallDuration"] = form["Duration"] = seconds
        got = await self._post(call.status_callback, form, f"{call.sid}-{status}")
        call.statuses.append(status)
        if got is not None and 200 <= got < 300:
            self.reports_posted += 1
        else:
            self.reports_failed += 1

    async def _post_gather(self, call: StandinMessage, action: str, digits: str) -> None:
        form = self.call_form(call, "in-progress")
        form["Digits"] = digits
        form["FinishedOnKey"] = ""
        form["msg"] = "Gather End"
        call.digits = digits
        got = await self._post(action, form, f"{call.sid}-gather")
        call.statuses.append("gather")
        if got is not None and 200 <= got < 300:
            self.reports_posted += 1
        else:
            self.reports_failed += 1

    async def _post(self, url: str, form: dict[str, str], token: str) -> int | None:
        assert self._session is not None, "start the stand-in first"
        headers = {
            "X-Twilio-Signature": signature(self.auth_token, url, form),
            "I-Twilio-Idempotency-Token": token,
            "User-Agent": "TwilioProxy/1.1",
        }
        status: int | None
        text = ""
        try:
            async with self._session.post(url, data=form, headers=headers) as answer:
                body = await answer.read()
                status = answer.status
                if self.keep_posted:
                    text = body.decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = None
        if self.keep_posted:
            self.posted.append(Posted(url, form, status, text))
        return status

    # inbound

    async def post_inbound(
        self, url: str, from_: str, to: str, body: str, channel: str = "sms"
    ) -> int | None:
        """Post Twilio's incoming-message webhook to `url`, signed; the HTTP status it got."""
        sid = "SM" + os.urandom(16).hex()
        whatsapp = channel == "whatsapp"
        sender = WHATSAPP_PREFIX + from_ if whatsapp else from_
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": sender,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(parts(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": WHATSAPP_PREFIX + to if whatsapp else to,
        }
        if whatsapp:
            form["WaId"] = from_.lstrip("+")
            form["ProfileName"] = "Stand-in"
        return await self._post(url, form, sid)


async def _form(request: web.Request) -> dict[str, str]:
    return dict(await _pairs(request))


def _read_twiml(document: str) -> tuple[Gather | None, str]:
    """A call's `<Gather>` (the first) and everything it says, from its inline TwiML."""
    if "<!" in document:  # TwiML has no DOCTYPE or entity declarations: none are parsed
        raise TwilioError(400, 12100, "Document parse failure: declarations are not TwiML")
    try:
        root = ElementTree.fromstring(document)  # noqa: S314 - no DTD (above), loopback only
    except ElementTree.ParseError:
        raise TwilioError(400, 12100, "Document parse failure") from None
    if root.tag != "Response":
        raise TwilioError(400, 12100, "Document parse failure: the root must be <Response>")
    said = " ".join((say.text or "") for say in root.iter("Say"))
    element = root.find(".//Gather")
    if element is None:
        return None, said
    gather = Gather(
        action=element.get("action"),
        method=(element.get("method") or "POST").upper(),
        num_digits=_whole(element.get("numDigits")),
        timeout=_whole(element.get("timeout")),
        say=" ".join((say.text or "") for say in element.iter("Say")),
    )
    return gather, said


def _whole(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise TwilioError(400, 12100, f"Document parse failure: {value!r} is not a number")
    return int(value)


def _variables(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise TwilioError(400, 21656, "The ContentVariables Parameter is invalid")
    return value


def _date(at: float) -> str:
    """A time as Twilio's resources write it (RFC 2822, `+0000`)."""
    return formatdate(at, usegmt=True).replace("GMT", "+0000")
