"""Sealed tokens: a small binary payload with an HMAC-SHA256 of it under a server key,
base64url without padding, so a link carries what it names and nothing is stored per
link. Tracking links (`tracking.py`) and emailed reports' links (`report_links.py`)
are sealed this way; `context` keeps one use's MACs apart from another's under one key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC = 16  # bytes of HMAC-SHA256 kept: 128 bits
MAX_LENGTH = 64  # no token of ours is longer; a longer text is not read


def _mac(key: bytes, context: bytes, payload: bytes) -> bytes:
    return hmac.new(key, context + payload, hashlib.sha256).digest()[:MAC]


def seal(payload: bytes, key: bytes, *, context: bytes = b"") -> str:
    return base64.urlsafe_b64encode(payload + _mac(key, context, payload)).rstrip(b"=").decode()


def unseal(text: str, key: bytes, size: int, *, context: bytes = b"") -> bytes | None:
    """The payload of `size` bytes, or None when `text` is not a token of ours (malformed,
    another length, altered)."""
    if len(text) > MAX_LENGTH or not text.isascii():
        return None
    try:
        padded = (text + "=" * (-len(text) % 4)).encode()
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)  # nothing skipped
    except (ValueError, TypeError):
        return None
    if len(raw) != size + MAC:
        return None
    payload, mac = raw[:size], raw[size:]
    if not hmac.compare_digest(mac, _mac(key, context, payload)):
        return None
    return payload
