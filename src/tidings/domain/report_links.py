"""Download links of emailed reports (`{public URL}/r/{token}`, DESIGN.md "Reports").

The token names the account and the report and says until when it may be followed; an
HMAC-SHA256 of all three under the install's own key (`server_secrets`, a key of its
own, not the tracking links') makes it unguessable and unalterable: a token edited to
name another report or account, or to last longer, is not one of ours. Nothing is
stored per link. Time is an argument (the account's clock: virtual in tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

LIFETIME = 7 * 24 * 3600 * 1_000_000  # micros: a link works for 7 days from its email
_PAYLOAD = struct.Struct(">QQQ")  # account id, report id, expires at (micros)
_MAC = 16  # bytes of HMAC-SHA256 kept: 128 bits
_DOMAIN = b"tidings report link\x00"  # keeps these MACs apart from any other use of a key
MAX_LENGTH = 64


@dataclass(frozen=True)
class ReportLink:
    account_id: int
    report_id: int
    expires_at: int  # micros


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()[:_MAC]


def encode(link: ReportLink, key: bytes) -> str:
    payload = _PAYLOAD.pack(link.account_id, link.report_id, link.expires_at)
    return base64.urlsafe_b64encode(payload + _mac(key, payload)).rstrip(b"=").decode()


def issue(account_id: int, report_id: int, now: int, key: bytes) -> str:
    """A token for the report that works for `LIFETIME` from `now`."""
    return encode(ReportLink(account_id, report_id, now + LIFETIME), key)


def decode(text: str, key: bytes, now: int) -> ReportLink | None:
    """The link, or None when the token is not one of ours (malformed, altered) or has
    expired by `now`."""
    if len(text) > MAX_LENGTH or not text.isascii():
        return None
    try:
        padded = (text + "=" * (-len(text) % 4)).encode()
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)  # nothing skipped
    except (ValueError, TypeError):
        return None
    if len(raw) != _PAYLOAD.size + _MAC:
        return None
    payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    account_id, report_id, expires_at = _PAYLOAD.unpack(payload)
    if now >= expires_at:
        return None
    return ReportLink(account_id, report_id, expires_at)
