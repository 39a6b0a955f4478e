"""Tracking and unsubscribe links (DESIGN.md, Channels and providers: Tracking, Consent).

Links are rewritten to `{public URL}/t/{token}`; the token says which message (its outbox
id), what (a click on the n-th link, the open pixel, the unsubscribe link) and carries an
HMAC of both under the server's secret, so it cannot be guessed or altered. Nothing is
stored per link: a click finds its URL again by reading the message's own content, whose
links are found in the same order as when it was rewritten (`links`).

Which links: `href` attributes of `<a>` (and `<area>`) elements in HTML, and `http(s)://`
URLs in plain text. `mailto:`, `tel:` and anchors are left alone, as is the unsubscribe
link itself.
"""

from __future__ import annotations

import html as htmllib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tidings.domain import sealed

Kind = Literal["click", "open", "unsubscribe"]
_KINDS: dict[Kind, int] = {"click": 1, "open": 2, "unsubscribe": 3}
_BY_CODE = {code: kind for kind, code in _KINDS.items()}
_PAYLOAD = struct.Struct(">QBH")  # outbox id, kind, link index

# an <a ...href="..."> or <area ...href='...'> attribute: group 2 is the URL
_HREF = re.compile(
    r"""(<(?:a|area)\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL
)
_URL = re.compile(r"""https?://[^\s<>"')\]]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"


@dataclass(frozen=True)
class Token:
    message: int
    kind: Kind
    index: int = 0


def encode(token: Token, key: bytes) -> str:
    return sealed.seal(_PAYLOAD.pack(token.message, _KINDS[token.kind], token.index), key)


def decode(text: str, key: bytes) -> Token | None:
    """The token, or None when it is not one of ours (malformed or altered)."""
    payload = sealed.unseal(text, key, _PAYLOAD.size)
    if payload is None:
        return None
    message, code, index = _PAYLOAD.unpack(payload)
    kind = _BY_CODE.get(code)
    return None if kind is None else Token(message, kind, index)


def _trackable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _split_trailing(url: str) -> tuple[str, str]:
    """A URL found in text without the punctuation that ends its sentence."""
    stripped = url.rstrip(_TRAILING)
    return stripped, url[len(stripped) :]


def links(text: str, *, is_html: bool) -> list[str]:
    """The trackable links of a text, in order (as `rewrite` numbers them)."""
    if is_html:
        return [
            htmllib.unescape(m.group(3))
            for m in _HREF.finditer(text)
            if _trackable(htmllib.unescape(m.group(3)))
        ]
    return [_split_trailing(m.group(0))[0] for m in _URL.finditer(text)]


def rewrite(text: str, *, is_html: bool, link: Callable[[int], str], start: int = 0) -> str:
    """The text with its n-th trackable link (counting from `start`) replaced by `link(n)`."""
    counter = iter(range(start, 1 << 16))
    if is_html:

        def href(m: re.Match[str]) -> str:
            if not _trackable(htmllib.unescape(m.group(3))):
                return m.group(0)
            return f"{m.group(1)}{m.group(2)}{htmllib.escape(link(next(counter)))}{m.group(2)}"

        return _HREF.sub(href, text)

    def plain(m: re.Match[str]) -> str:
        _url, tail = _split_trailing(m.group(0))
        return link(next(counter)) + tail

    return _URL.sub(plain, text)


def with_pixel(html: str, pixel: str) -> str:
    """The HTML with a 1x1 open pixel, before `</body>` when it has one."""
    tag = f'<img src="{htmllib.escape(pixel)}" width="1" height="1" alt="" style="display:none">'
    at = html.lower().rfind("</body>")
    return html[:at] + tag + html[at:] if at >= 0 else html + tag


def with_unsubscribe(html: str | None, text: str | None, url: str) -> tuple[str | None, str | None]:
    """The bodies with a visible unsubscribe link (RFC 8058 asks for one beside the
    header)."""
    if html is not None:
        footer = (
            '<p style="font-size:12px;color:#666666">'
            f'<a href="{htmllib.escape(url)}">Unsubscribe</a></p>'
        )
        at = html.lower().rfind("</body>")
        html = html[:at] + footer + html[at:] if at >= 0 else html + footer
    if text is not None:
        text = f"{text}\n\nUnsubscribe: {url}\n"
    return html, text
