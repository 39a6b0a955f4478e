"""TwiML, the XML Twilio runs a call by (twilio.com/docs/voice/twiml): the documents the
Twilio provider sends (a call's inline `Twiml`, a live call's update) and answers (the
webhook's reply to an incoming call, a `<Redirect>` or a `<Gather>` action).

Text and attributes are XML-escaped, and characters XML 1.0 cannot carry at all are
dropped from what a call says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tidings.channels.providers import collect_seconds

TWIML = "text/xml"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
EMPTY = f"{DECLARATION}<Response/>".encode()
KEEP_SECONDS = 10  # how long a caller waits on `<Pause>` before Twilio asks us again

# characters XML 1.0 cannot carry at all (not even escaped): dropped from what a call says
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _say(content: Mapping[str, Any]) -> str:
    say = content.get("say")
    if not isinstance(say, str) or not say.strip():
        raise ValueError("the call has nothing to say")
    language = content.get("language")
    attributes = ""
    if isinstance(language, str) and language:
        attributes = f" language={quoteattr(_NOT_XML.sub('', language))}"
    return f"<Say{attributes}>{escape(_NOT_XML.sub('', say))}</Say>"


def say_document(
    content: Mapping[str, Any], action: str, *, after: str = "", on_empty: bool = False
) -> str:
    """`<Say>` the content's text, inside a `<Gather input="dtmf">` whose action is
    `action` when `collect` asks for digits (`{"maxDigits", "timeout"}`, the timeout an
    ISO 8601 duration, whole seconds, at least 1); `after`: a `<Redirect>` to `after` when
    the text has been said (no `collect`); `on_empty`: Twilio requests the action also
    when nothing was pressed (`actionOnEmptyResult`). ValueError for content a call
    cannot say."""
    spoken = _say(content)
    collect = content.get("collect")
    if collect is None:
        redirect = f'<Redirect method="POST">{escape(after)}</Redirect>' if after else ""
        return f"<Response>{spoken}{redirect}</Response>"
    if not isinstance(collect, Mapping):
        raise ValueError("collect must be an object")
    digits = collect.get("maxDigits", 1)
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ValueError("collect.maxDigits must be a positive whole number")
    seconds = collect_seconds(collect.get("timeout", "PT5S"))
    empty = ' actionOnEmptyResult="true"' if on_empty else ""
    gather = (
        f'<Gather input="dtmf" numDigits="{digits}" timeout="{seconds}" '
        f'action={quoteattr(action)} method="POST"{empty}>'
    )
    return f"<Response>{gather}{spoken}</Gather></Response>"


def keep_alive(url: str) -> bytes:
    """Keeps a caller on the line while the engine works: a pause, then Twilio asks `url`
    again (a live-call update interrupts it at once)."""
    return (
        f'{DECLARATION}<Response><Pause length="{KEEP_SECONDS}"/>'
        f'<Redirect method="POST">{escape(url)}</Redirect></Response>'
    ).encode()


def reject() -> bytes:
    """Refuses an incoming call (the caller hears a busy tone; the call is not billed)."""
    return f"{DECLARATION}<Response><Reject/></Response>".encode()


def hang_up() -> bytes:
    return f"{DECLARATION}<Response><Hangup/></Response>".encode()
