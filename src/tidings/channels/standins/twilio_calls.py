"""The Twilio stand-in's incoming calls: a person dials one of the account's numbers and
the call runs by the TwiML Tidings answers, on loopback.

`standin.calls.place_call(url, from_, to, digits=[...])` posts Twilio's incoming-call
webhook to `url` (the number's Voice URL: the connection's inbound webhook), signed with
`X-Twilio-Signature`, form-encoded: `AccountSid`, `ApiVersion`, `CallSid`, `CallStatus`
`ringing`, `Direction` `inbound`, `From`, `To`, `Caller`, `Called`. The answer must be
TwiML (`text/xml` or `application/xml`, a `<Response>`); the call then runs it, verb by
verb, as Twilio does:

- `<Say>`: the text is kept (`Call.said`);
- `<Pause length>`: the call waits until `resume(sid)` (the pause is over) or a live-call
  update replaces the document (no real sleeping: the tests decide when time passes);
- `<Redirect method="POST">url</Redirect>`: the call's form (`CallStatus` in-progress) is
  posted, signed, to the URL and its answer runs next;
- `<Gather input="dtmf" numDigits timeout action method actionOnEmptyResult>` with its
  `<Say>` prompt: the caller's next scripted answer is keyed in: its digits (at most
  `numDigits`) are posted to the action as `Digits` (an empty answer: only with
  `actionOnEmptyResult="true"`, else the document goes on after the Gather), and the
  action's answer runs next; `HANG_UP`: the caller hangs up instead; `SILENT`: the caller
  just listens (the call waits, as on a pause);
- `<Hangup/>` ends the call (`completed`), `<Reject/>` refuses it (`busy`); the end of the
  document ends the call (`completed`). Any other verb, or an answer that is not TwiML, is
  an error (`Call.errors`) and the call fails.

A live-call update, `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with
Basic auth (401 otherwise), form fields `Twiml` (parsed at once: 12100 if it is not a
`<Response>`), `Url` or `Status` (`completed` or `canceled`: the call ends), and
`StatusCallback` (an http(s) URL, 21609; the call's final status goes there from then
on), checked as
Twilio documents them (21220 for a call that is not in progress, 404 for a call the
account never had), interrupts whatever the call was doing and runs the new document; it
is answered 200 with the Call resource. When the call ends its final status is posted to
the status callback (the number's "Call status changes" URL; the Voice URL unless
`place_call` names another; None: no callback). `hang_up(sid)` is the caller hanging up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import urlparse
from xml.etree import ElementTree

import aiohttp
from aiohttp import web

from tidings.channels.standins.twilio_errors import TwilioError, error, pairs
from tidings.channels.twilio import API_VERSION, signature

HANG_UP = "HANG_UP"  # a scripted answer: the caller hangs up instead of keying in
SILENT = "SILENT"  # a scripted answer: the caller keys in nothing and the Gather never ends
_VERBS = frozenset({"Say", "Pause", "Redirect", "Gather", "Hangup", "Reject"})
_GATHER = frozenset(
    {"input", "numDigits", "timeout", "action", "method", "actionOnEmptyResult", "finishOnKey"}
)


@dataclass
class Call:
    """One incoming call the stand-in placed, and what happened on it."""

    sid: str
    caller: str
    number: str
    url: str  # the Voice URL
    status_callback: str | None
    script: list[str]
    state: str = "ringing"  # ringing -> in-progress -> completed, busy, failed
    said: list[str] = field(default_factory=list)
    gathers: list[dict[str, str]] = field(default_factory=list)  # each Gather's attributes
    updates: list[dict[str, str]] = field(default_factory=list)  # live-call updates' forms
    posted: list[tuple[str, int | None]] = field(default_factory=list)  # (what, our status)
    answers: list[str] = field(default_factory=list)  # the TwiML Tidings answered
    errors: list[str] = field(default_factory=list)
    waiting: bool = False  # on a pause (or listening): nothing happens until told
    task: asyncio.Task[None] | None = None
    resumed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ended(self) -> bool:
        return self.state in ("completed", "busy", "failed", "no-answer", "canceled")


class _Owner(Protocol):
    """What of the stand-in (standins/twilio.py) the calls use."""

    account_sid: str
    auth_token: str

    @property
    def session(self) -> aiohttp.ClientSession | None: ...

    def authenticate(self, request: web.Request) -> None: ...


class _Failed(Exception):
    """The call cannot go on (an answer that is not TwiML, an unknown verb)."""


class TwilioCalls:
    """Incoming calls of a `TwilioStandin` (see the module doc)."""

    def __init__(self, standin: _Owner) -> None:
        self._standin = standin
        self.calls: dict[str, Call] = {}

    def routes(self, app: web.Application, gate: Callable[[web.Request], Any]) -> None:
        self._gate = gate
        app.router.add_post("/{version}/Accounts/{sid}/Calls/{call}.json", self._update)

    # --- the person's side ---

    async def place_call(
        self,
        url: str,
        from_: str,
        to: str,
        *,
        digits: list[str] | None = None,
        status_callback: str | None = "",
    ) -> Call:
        """Dial `to` from `from_`: the incoming-call webhook is posted to `url` (and
        awaited), then the call runs the TwiML it was answered with."""
        call = Call(
            sid="CA" + os.urandom(16).hex(),
            caller=from_,
            number=to,
            url=url,
            status_callback=url if status_callback == "" else status_callback,
            script=list(digits or []),
        )
        self.calls[call.sid] = call
        answer = await self._post(call, "voice", url, self.form(call))
        if answer is None:
            await self._end(call, "failed")
            return call
        call.state = "in-progress"  # until the TwiML says otherwise
        self._run(call, answer)
        return call

    def resume(self, sid: str) -> None:
        """The call's pause is over (Twilio goes on to the next verb)."""
        self.calls[sid].resumed.set()

    async def hang_up(self, sid: str) -> None:
        """The caller hangs up now."""
        call = self.calls[sid]
        if call.task is not None:
            call.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call.task
        await self._end(call, "completed")

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait until every call has ended or waits (on a pause, or listening)."""
        async with asyncio.timeout(seconds):
            while any(  # noqa: ASYNC110 - the states of many calls' tasks, polled
                c.task is not None and not c.task.done() and not c.waiting
                for c in self.calls.values()
            ):
                await asyncio.sleep(0.005)

    def form(self, call: Call, status: str | None = None) -> dict[str, str]:
        """A call's request form, as Twilio posts it."""
        return {
            "AccountSid": self._standin.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status or call.state,
            "Called": call.number,
            "Caller": call.caller,
            "Direction": "inbound",
            "From": call.caller,
            "To": call.number,
        }

    # --- running TwiML ---

    def _run(self, call: Call, document: str) -> None:
        if call.task is not None and not call.task.done():
            call.task.cancel()
        call.waiting = False
        call.task = asyncio.get_running_loop().create_task(self._play(call, document))

    async def _play(self, call: Call, document: str) -> None:
        try:
            while document is not None and not call.ended:
                document = await self._verbs(call, _parse(document))  # type: ignore[assignment]
        except _Failed as exc:
            call.errors.append(str(exc))
            await self._end(call, "failed")

    async def _verbs(self, call: Call, root: ElementTree.Element) -> str | None:
        """Run a document's verbs; the next document (a redirect's or action's answer),
        or None when the call ended."""
        for verb in root:
            if verb.tag not in _VERBS:
                raise _Failed(f"<{verb.tag}> is not a TwiML verb the stand-in knows")
            if verb.tag == "Say":
                call.said.append(verb.text or "")
            elif verb.tag == "Pause":
                await self._wait(call)
            elif verb.tag == "Redirect":
                if (verb.get("method") or "POST").upper() != "POST":
                    raise _Failed("the stand-in redirects with POST only")
                answer = await self._post(call, "redirect", (verb.text or "").strip())
                if answer is None:
                    raise _Failed("a redirect was not answered with TwiML")
                return answer
            elif verb.tag == "Gather":
                answer = await self._gather(call, verb)
                if answer is not None:
                    return answer
            else:
                await self._end(call, "busy" if verb.tag == "Reject" else "completed")
                return None
        await self._end(call, "completed")  # the document ran out: Twilio hangs up
        return None

    async def _wait(self, call: Call) -> None:
        call.resumed.clear()
        call.waiting = True
        try:
            await call.resumed.wait()
        finally:
            call.waiting = False

    async def _gather(self, call: Call, verb: ElementTree.Element) -> str | None:
        unknown = sorted(set(verb.attrib) - _GATHER)
        if unknown:
            raise _Failed(f"<Gather> has no attribute {unknown[0]}")
        if verb.get("input", "dtmf") != "dtmf":
            raise _Failed("the stand-in gathers dtmf only")
        call.gathers.append(dict(verb.attrib))
        for child in verb:
            if child.tag != "Say":
                raise _Failed(f"<{child.tag}> inside <Gather>")
            call.said.append(child.text or "")
        answer = call.script.pop(0) if call.script else ""
        if answer == HANG_UP:
            await self._end(call, "completed")
            return None
        if answer == SILENT:
            await self._wait(call)
            return None
        most = verb.get("numDigits")
        keys = answer[: int(most)] if most and most.isdigit() else answer
        action = verb.get("action")
        if not action or (not keys and verb.get("actionOnEmptyResult") != "true"):
            return None  # Twilio goes on to the next verb
        if (verb.get("method") or "POST").upper() != "POST":
            raise _Failed("the stand-in posts Gather actions only")
        form = self.form(call)
        form.update({"Digits": keys, "FinishedOnKey": "", "msg": "Gather End"})
        answer_twiml = await self._post(call, "gather", action, form)
        if answer_twiml is None:
            raise _Failed("a Gather action was not answered with TwiML")
        return answer_twiml

    async def _end(self, call: Call, status: str) -> None:
        if call.ended:
            return
        call.state = status
        call.waiting = False
        if call.status_callback:
            form = self.form(call, status)
            form["CallbackSource"] = "call-progress-events"
            form["Timestamp"] = formatdate(usegmt=True).replace("GMT", "+0000")
            form["CallDuration"] = form["Duration"] = "12" if status == "completed" else "0"
            await self._post(call, "status", call.status_callback, form, twiml=False)

    async def _post(
        self,
        call: Call,
        what: str,
        url: str,
        form: dict[str, str] | None = None,
        *,
        twiml: bool = True,
    ) -> str | None:
        """Post the call's form to `url`, signed; the TwiML answered (None: none)."""
        session = self._standin.session
        assert session is not None, "start the stand-in first"
        form = form if form is not None else self.form(call)
        headers = {
            "X-Twilio-Signature": signature(self._standin.auth_token, url, form),
            "I-Twilio-Idempotency-Token": f"{call.sid}-{len(call.posted)}",
            "User-Agent": "TwilioProxy/1.1",
        }
        try:
            async with session.post(url, data=form, headers=headers) as response:
                text = (await response.read()).decode("utf-8", "replace")
                status: int | None = response.status
                media = response.content_type
        except (aiohttp.ClientError, TimeoutError, OSError):
            status, text, media = None, "", ""
        call.posted.append((what, status))
        if not twiml:
            return None
        if status != 200 or media not in ("text/xml", "application/xml"):
            call.errors.append(f"{what}: answered {status} {media}")
            return None
        call.answers.append(text)
        return text

    # --- the API ---

    async def _update(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused  # type: ignore[no-any-return]
        try:
            self._standin.authenticate(request)
            form = dict(await pairs(request))
            call = self.calls.get(request.match_info["call"])
            if call is None:
                raise TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            known = {"Twiml", "Url", "Method", "Status", "StatusCallback", "StatusCallbackMethod"}
            unknown = sorted(set(form) - known)
            if unknown:
                raise TwilioError(400, 20001, f"Unknown parameter {unknown[0]}")
            status = form.get("Status")
            if status is not None and status not in ("completed", "canceled"):
                raise TwilioError(400, 20001, f"Invalid Status {status}")
            document = form.get("Twiml")
            if status is None and not document and not form.get("Url"):
                raise TwilioError(400, 21205, "Url parameter is required.")
            if call.ended:
                raise TwilioError(400, 21220, "Call is not in-progress. Cannot redirect.")
            if document is not None:
                _parse(document, refuse=True)
            callback = form.get("StatusCallback")
            if callback is not None:
                parsed = urlparse(callback)
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise TwilioError(400, 21609, f"Invalid StatusCallback url: {callback}")
                if form.get("StatusCallbackMethod", "POST").upper() != "POST":
                    raise TwilioError(400, 20001, "the stand-in posts status callbacks only")
        except TwilioError as exc:
            return error(exc)
        call.updates.append(form)
        if form.get("StatusCallback"):
            call.status_callback = form["StatusCallback"]
        if status is not None:
            if call.task is not None:
                call.task.cancel()
            await self._end(call, "completed" if status == "completed" else "canceled")
        elif document is not None:
            self._run(call, document)
        return web.json_response(self._resource(call))

    def _resource(self, call: Call) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self._standin.account_sid}/Calls/{call.sid}"
        return {
            "account_sid": self._standin.account_sid,
            "api_version": API_VERSION,
            "direction": "inbound",
            "from": call.caller,
            "price": None,
            "sid": call.sid,
            "status": call.state,
            "to": call.number,
            "uri": f"{uri}.json",
        }


def _parse(document: str, *, refuse: bool = False) -> ElementTree.Element:
    problem = ""
    root = None
    if "<!" in document:
        problem = "declarations are not TwiML"
    else:
        try:
            root = ElementTree.fromstring(document)  # noqa: S314 - no DTD (above), loopback
        except ElementTree.ParseError:
            problem = "not XML"
    if root is not None and root.tag != "Response":
        problem = "the root must be <Response>"
    if problem or root is None:
        if refuse:
            raise TwilioError(400, 12100, f"Document parse failure: {problem}")
        raise _Failed(f"Document parse failure: {problem}")
    return root
