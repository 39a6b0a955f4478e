"""The Infobip stand-in's commonest request, read and answered without dictionaries.

`tidings bench dispatch --provider infobip` sends a million SMS in requests of a
thousand, all of one plain shape (`{"messages": [{"sender", "destinations": [{"to",
"messageId"}], "content": {"text"}, "webhooks": {...}}]}`), and the stand-in runs on the
same two cores as the server it measures: its CPU is taken from the server it stands in
for (15 s in a run of 40). The general checks (a helper call a field), the answer's and
the reports' dictionaries cost 7.7-9.2 µs a message; msgspec decodes that shape into
typed records, the documented lengths checked by the decoder, and the answer and the
reports are encoded from records: 2.8-3.1 µs (measured in-process, 60 requests of a
thousand, the reports' bodies encoded too).

`read` answers None for a body of any other shape or with a field Infobip refuses, and
`InfobipStandin._plain_sms` for a destination that is not a phone number, a messageId
seen before (or twice in one request), or a stand-in told to fail a number, reject one,
report to the operator first or fail the channel. The general path
(`InfobipStandin._accept`) then takes the request, so every request gets the same
answer, kept messages and reports, or the same refusal, whichever path reads it; nothing
is kept before a request is known to be plain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

import msgspec

# Infobip's field names, as it spells them; the lengths are its documented ones (the
# general checks' `most=`); a `to` is checked as a phone number (`read`), which is shorter


class _Destination(msgspec.Struct, forbid_unknown_fields=True):
    to: str
    messageId: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    networkId: Any = None


class _Delivery(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    intermediateReport: Any = None
    notify: Any = None


class _Webhooks(msgspec.Struct, forbid_unknown_fields=True):
    delivery: _Delivery | None = None
    contentType: str | None = None
    callbackData: Any = None


class _Content(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=4096)]
    transliteration: Any = None
    language: Any = None


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    destinations: list[_Destination]
    content: _Content
    sender: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    options: Any = None
    webhooks: _Webhooks | None = None


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    messages: list[_Message]
    options: Any = None


class Report(msgspec.Struct, omit_defaults=True):
    """One SMS delivery report, the general path's fields (`sender` when there is one)."""

    bulkId: str
    messageId: str
    to: str
    sentAt: str
    doneAt: str
    messageCount: int
    price: dict[str, Any]
    status: dict[str, Any]
    error: dict[str, Any]
    mccMnc: str
    sender: str | None = None


class Answer(msgspec.Struct):
    messageId: str
    status: dict[str, Any]
    destination: str
    details: dict[str, Any]


class Answers(msgspec.Struct):
    bulkId: str
    messages: list[Answer]


_DECODER: Final = msgspec.json.Decoder(_Request)
ENCODE: Final = msgspec.json.Encoder().encode
_CONTENT_TYPES: Final = (None, "application/json", "application/xml")
ONE_PART: Final = {"messageCount": 1}


class Plain(msgspec.Struct):
    """A plain request's messages, as the general checks would have passed them."""

    messages: list[_Message]
    urls: list[str | None]  # each message's report URL
    count: int  # destinations
    ids: set[str]  # the messageIds it names, each once


def _delivery_url(message: _Message) -> tuple[bool, str | None]:
    """(whether the message's webhooks pass the general checks, its report URL)."""
    webhooks = message.webhooks
    if webhooks is None:
        return True, None
    if webhooks.contentType not in _CONTENT_TYPES:
        return False, None
    delivery = webhooks.delivery
    if delivery is None or delivery.url is None:
        return True, None
    return delivery.url.startswith(("http://", "https://")), delivery.url


def read(body: bytes, phone: Callable[[str], object]) -> Plain | None:
    """The request if it is plain as far as its body tells (`phone`: whether a `to` is
    a phone number, the general path's test); None for anything else."""
    try:
        request = _DECODER.decode(body)
    except msgspec.MsgspecError:
        return None
    if not request.messages:
        return None
    ids: set[str] = set()
    count = named = 0
    urls: list[str | None] = []
    for message in request.messages:
        valid, url = _delivery_url(message)
        if not valid or not message.destinations or not message.content.text.strip():
            return None
        urls.append(url)
        for destination in message.destinations:
            count += 1
            if not phone(destination.to):
                return None
            if destination.messageId is not None:
                named += 1
                ids.add(destination.messageId)
    if len(ids) < named:
        return None  # a messageId twice in one request: the general path's duplicate
    return Plain(request.messages, urls, count, ids)
