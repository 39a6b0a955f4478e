"""Download links of emailed reports (`{public URL}/r/{token}`, DESIGN.md "Reports").

The token names the account and the report and says until when it may be followed; an
HMAC-SHA256 of all three under the install's own key (`server_secrets`, a key of its
own, not the tracking links') makes it unguessable and unalterable: a token edited to
name another report or account, or to last longer, is not one of ours. Nothing is
stored per link. Time is an argument (the account's clock: virtual in tests).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tidings.domain import sealed

LIFETIME = 7 * 24 * 3600 * 1_000_000  # micros: a link works for 7 days from its email
_PAYLOAD = struct.Struct(">QQQ")  # account id, report id, expires at (micros)
MAX_LENGTH = sealed.MAX_LENGTH  # a longer text is no token of ours
_CONTEXT = b"tidings report link\x00"  # keeps these MACs apart from any other use of a key


@dataclass(frozen=True)
class ReportLink:
    account_id: int
    report_id: int
    expires_at: int  # micros


def encode(link: ReportLink, key: bytes) -> str:
    payload = _PAYLOAD.pack(link.account_id, link.report_id, link.expires_at)
    return sealed.seal(payload, key, context=_CONTEXT)


def issue(account_id: int, report_id: int, now: int, key: bytes) -> str:
    """A token for the report that works for `LIFETIME` from `now`."""
    return encode(ReportLink(account_id, report_id, now + LIFETIME), key)


def decode(text: str, key: bytes, now: int) -> ReportLink | None:
    """The link, or None when the token is not one of ours (malformed, altered) or has
    expired by `now`."""
    payload = sealed.unseal(text, key, _PAYLOAD.size, context=_CONTEXT)
    if payload is None:
        return None
    account_id, report_id, expires_at = _PAYLOAD.unpack(payload)
    if now >= expires_at:
        return None
    return ReportLink(account_id, report_id, expires_at)
