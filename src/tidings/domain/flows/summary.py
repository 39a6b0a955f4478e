"""Plain-words summaries for the lift-off page: who enters, how often, which channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tidings.domain.durations import parse_duration
from tidings.domain.flows.calls import (
    EmailAttempt,
    SmsAttempt,
    ViberAttempt,
    WhatsappAttempt,
)
from tidings.domain.flows.context import ValidationContext
from tidings.domain.flows.document import FlowDocument
from tidings.domain.flows.entry import (
    ApiEntry,
    AudienceEntry,
    EventEntry,
    InboundEntry,
    SftpEntry,
)

CHANNEL_OF = {
    "send_sms": "sms",
    "send_email": "email",
    "send_whatsapp": "whatsapp",
    "send_viber": "viber",
    "voice_call": "voice",
}
_ATTEMPT_CHANNEL: dict[type, str] = {
    SmsAttempt: "sms",
    EmailAttempt: "email",
    WhatsappAttempt: "whatsapp",
    ViberAttempt: "viber",
}
_CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "viber": "Viber"}


def describe_entry(doc: FlowDocument, ctx: ValidationContext | None = None) -> str:
    """Who enters the flow, in one sentence: "People who trigger CartAbandoned where
    event.cartValue > 50". With `ctx`, segment ids are shown by name."""
    entry = doc.entry
    if entry is None:
        return "Nobody yet: the flow has no entry"
    if isinstance(entry, EventEntry):
        text = f"People who trigger {entry.event or '(no event chosen)'}"
        if entry.where and entry.where.strip():
            text += f" where {entry.where.strip()}"
        return text
    if isinstance(entry, AudienceEntry):
        return _audience(entry, ctx)
    if isinstance(entry, InboundEntry):
        channel = _CHANNEL_NAMES.get(entry.channel or "", "a message")
        number = entry.number or "(no number chosen)"
        if entry.keyword:
            return f"People who send {entry.keyword} to {number} by {channel}"
        return f"People who send any message to {number} by {channel}"
    if isinstance(entry, SftpEntry):
        text = f"People listed in new files at {entry.path or '(no path)'}"
        text += f" on the SFTP connection {entry.connection or '(none chosen)'}"
        if entry.every:
            text += f", checked every {_duration_words(entry.every)}"
        return text
    assert isinstance(entry, ApiEntry)
    return "People added through the Flow API"


def _audience(entry: AudienceEntry, ctx: ValidationContext | None) -> str:
    def segment(ref: int | str) -> str:
        if ctx is not None and isinstance(ref, int) and ref in ctx.segments:
            return ctx.segments[ref]
        return str(ref)

    parts = []
    if entry.segments:
        parts.append(
            f"in {_plural('segment', entry.segments)} "
            + _join([segment(s) for s in entry.segments])
        )
    if entry.tags:
        parts.append(f"tagged {_join(entry.tags, 'or')}")
    if entry.people:
        parts.append(f"picked by hand ({len(entry.people)})")
    if entry.companies:
        parts.append(
            f"in {_plural('company', entry.companies)} " + _join([str(c) for c in entry.companies])
        )
    if not parts:
        return "Nobody yet: the predefined audience is empty"
    text = "People " + _join(parts, "or")
    if entry.update == "realtime":
        return text + "; people who join later enter too"
    return text + ", as they are at launch"


def describe_reentry(doc: FlowDocument) -> str:
    """How often one person may enter, in one sentence."""
    reentry = doc.settings.reentry
    if not reentry.enabled:
        return "Each person enters at most once"
    if reentry.delay:
        parts = [f"A person may enter again {_duration_words(reentry.delay)} after they exit"]
    else:
        parts = ["A person may enter again right after they exit"]
    for limit in reentry.limits:
        times = "time" if limit.max == 1 else "times"
        parts.append(f"at most {limit.max} {times} in any {_duration_words(limit.per)}")
    return ", ".join(parts)


def channels_used(doc: FlowDocument) -> list[dict[str, str | None]]:
    """Each (channel, sender) the flow sends from, in the order of the elements."""
    found: dict[tuple[str, str | None], None] = {}
    for element in doc.elements:
        if element.type in CHANNEL_OF:
            sender = getattr(element, "from_", None)
            found.setdefault((CHANNEL_OF[element.type], sender), None)
        elif element.type == "failover":
            for attempt in element.attempts:
                found.setdefault((_ATTEMPT_CHANNEL[type(attempt)], attempt.from_), None)
        elif element.type == "notify" and element.channel is not None:
            found.setdefault((element.channel, element.from_), None)
    return [{"channel": channel, "from": sender} for channel, sender in found]


def _duration_words(text: str) -> str:
    try:
        value = parse_duration(text)
    except ValueError:
        return text
    return duration_words(value)


def duration_words(value: timedelta) -> str:
    """A duration as a marketer would say it: "1 day", "90 minutes"."""
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _plural(word: str, items: Sequence[object]) -> str:
    if len(items) == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _join(items: Sequence[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]
