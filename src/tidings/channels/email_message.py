"""One outgoing email as a MIME message: headers, the text and HTML parts, and the bytes sent.

`build(outgoing, domain=...)` is pure (stdlib `email`; the policy is `email.policy.SMTP`
with 7-bit bodies):

- **Headers**: `From` (the connection's sender), `To`, `Subject`, `Reply-To` (content
  `replyTo`), `Date`, `MIME-Version` and `Message-ID: <{outbox id}.{check}@{domain}>`. The
  check is a hash of the outbox id, so the same message built twice (a retried send) has
  the same Message-ID, and `outbox_id_of` finds the outbox id in a Message-ID (a bounce's
  `In-Reply-To`, a report) only when it is one of ours. `List-Unsubscribe: <url>` and
  `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) when the message has an
  unsubscribe URL; the visible link is already in the body.
- **Encoding**: a subject or display name that is not ASCII goes as RFC 2047 encoded words
  (base64, at most 75 characters each, folded), as does an ASCII one that holds `=?` (it
  would read as one); an international domain goes as IDNA (`xn--`); only a local part
  that is not ASCII needs SMTPUTF8 (`needs_utf8`). Bodies are 7-bit
  (quoted-printable when not ASCII or with lines over 998 octets), so any server takes
  them without 8BITMIME.
- **Body**: HTML and text give `multipart/alternative` with text/plain first and text/html
  second (the last part is the one a client prefers, RFC 2046). HTML alone gives the same
  structure with the text part derived from the HTML (`html_to_text`); text alone is a
  single text/plain part.
- **Header injection**: a line break in an address (`From`, `To`, `Reply-To`) or in the
  unsubscribe URL is refused (`InvalidEmail`, naming the field: an address never holds
  one, so it is an attack or a bug); line breaks and other control characters in the
  subject are folded into single spaces (a template's trailing newline should not cost
  the message).

**Why the headers are written here, not by the `email` header registry**: parsing and
refolding every header through `email.headerregistry` cost about 3 ms per message (measured:
Subject encoding and Content-Type parsing dominate), which alone would cap a connection at
a few hundred emails a second. The headers are encoded here, once; `build` stores them
pre-encoded (`set_raw`) in an `EmailMessage` (`message["Subject"]` decodes, `get_content()`
works), and `render` writes the same message's bytes directly, without the generator: what
the provider sends. A test holds `render(...)` equal to `build(...).as_bytes(policy=POLICY)`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from html.parser import HTMLParser
from typing import Any

from tidings.channels.providers import Outgoing

# `SMTP` (CRLF line ends), 7-bit bodies, and pre-folded headers written as they are.
POLICY = email_policy.SMTP.clone(cte_type="7bit", refold_source="none")
_CHECK_LENGTH = 10
_LINE = 78  # what a header line should not exceed (RFC 5322 2.1.1)
_MAX_LINE = 998  # what no line may exceed
_EW_BYTES = 42  # UTF-8 octets per encoded word: 56 base64 characters, 68 in all
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_URL = re.compile(r"https?://[\x21-\x7e]+", re.IGNORECASE)
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
_PLAIN = re.compile(r"\s*([^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+)\s*")
_UTF8_LOCAL = re.compile(r"[^\s<>()\[\]\\,;:@\"]+")
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class InvalidEmail(ValueError):
    """A message that cannot be sent as built: `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_of(outbox_id: str) -> str:
    """The short hash that follows the outbox id in a Message-ID."""
    return hashlib.sha256(outbox_id.encode()).hexdigest()[:_CHECK_LENGTH]


def message_id(outbox_id: str, domain: str) -> str:
    """`<{outbox id}.{check}@{domain}>`: the same for every build of one message."""
    return f"<{outbox_id}.{check_of(outbox_id)}@{domain}>"


def outbox_id_of(header: str) -> str | None:
    """The outbox id a Message-ID of ours carries, None when the header is not ours."""
    text = header.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, at, _domain = text.rpartition("@")
    if not at:
        return None
    outbox_id, dot, check = local.rpartition(".")
    if not dot or not outbox_id or check != check_of(outbox_id):
        return None
    return outbox_id


# --- headers --------------------------------------------------------------------------------


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 base64 encoded words of at most 68 characters, no character split."""
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        octets = char.encode("utf-8", "surrogatepass")
        if size + len(octets) > _EW_BYTES and chunk:
            words.append(_word(b"".join(chunk)))
            chunk, size = [], 0
        chunk.append(octets)
        size += len(octets)
    if chunk:
        words.append(_word(b"".join(chunk)))
    return words


def _word(octets: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(octets).decode('ascii')}?="


def _fold(name: str, tokens: list[str]) -> str:
    """`tokens` joined by spaces, folded (CRLF + space) so lines stay within 78 characters
    where a token allows it."""
    lines: list[str] = []
    line = ""
    width = len(name) + 2
    for token in tokens:
        if line and width + len(line) + 1 + len(token) > _LINE:
            lines.append(line)
            line, width = token, 1
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\r\n ".join(lines)


def unstructured(name: str, text: str) -> str:
    """A header value for free text (`Subject`): ASCII as it is, folded at spaces; encoded
    words when it is not ASCII, holds `=?`, or has a word too long to fold."""
    words = text.split(" ")
    if text.isascii() and "=?" not in text and all(len(w) <= _LINE - 12 for w in words):
        return _fold(name, [w for w in words if w])
    return _fold(name, encoded_words(text))


def address(field: str, value: object) -> tuple[str, str]:
    """`value` (`a@b.example` or `Name <a@b.example>`) as (display name, addr-spec), the
    domain in IDNA form; `InvalidEmail` when it is not one address."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidEmail(field, "an email address is required")
    return _address(field, value)


@functools.lru_cache(maxsize=4096)  # pure; senders repeat in every message
def _address(field: str, value: str) -> tuple[str, str]:
    if "\r" in value or "\n" in value:
        raise InvalidEmail(field, "an address may not contain a line break")
    plain = _PLAIN.fullmatch(value)
    if plain:
        name, spec = "", plain.group(1)
    else:
        found = getaddresses([value])
        if len(found) != 1:
            raise InvalidEmail(field, f"{value!r} is not one email address")
        name, spec = found[0]
    local, at, host = spec.rpartition("@")
    if not at or not local or not host or _CONTROLS.search(spec) or " " in spec:
        raise InvalidEmail(field, f"{value!r} is not an email address")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidEmail(field, f"{host!r} is not a domain name") from exc
    valid_local = _ATOM if local.isascii() else _UTF8_LOCAL
    if not _DOMAIN.fullmatch(host) or not valid_local.fullmatch(local):
        raise InvalidEmail(field, f"{value!r} is not an email address")
    return _CONTROLS.sub(" ", name).strip(), f"{local}@{host}"


def mailbox(name: str, field: str, value: object) -> str:
    """A `From`/`To`/`Reply-To` header value for `value` (see `address`)."""
    if not isinstance(value, str):
        raise InvalidEmail(field, "an email address is required")
    return _mailbox(name, field, value)


@functools.lru_cache(maxsize=4096)  # pure; senders and reply-to addresses repeat
def _mailbox(name: str, field: str, value: str) -> str:
    display, spec = _address(field, value)
    if not display:
        return spec
    if display.isascii() and "=?" not in display:
        return _fold(name, [*_phrase(display).split(" "), f"<{spec}>"])
    return _fold(name, [*encoded_words(display), f"<{spec}>"])


def _phrase(display: str) -> str:
    """An ASCII display name as RFC 5322 writes it: quoted when it holds a special."""
    if not _SPECIALS.search(display):
        return display
    return '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'


def subject_of(content: Mapping[str, Any]) -> str:
    """The subject on one line: line breaks and control characters become one space."""
    subject = content.get("subject")
    if subject is None:
        return ""
    if not isinstance(subject, str):
        raise InvalidEmail("subject", "the subject must be text")
    return " ".join(_CONTROLS.sub(" ", subject).split())


def _unsubscribe(url: str) -> str:
    if not _URL.fullmatch(url) or any(c in url for c in "<>") or len(url) > _MAX_LINE - 40:
        raise InvalidEmail("unsubscribe_url", f"{url!r} is not an http(s) URL")
    return url


# --- body -----------------------------------------------------------------------------------


def _text(content: Mapping[str, Any], key: str) -> str | None:
    value = content.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEmail(key, f"the {key} body must be text")
    return value


def _leaf(subtype: str, text: str) -> _Leaf:
    """A text/`subtype` part holding `text`: 7bit when ASCII with short lines, else
    quoted-printable (the C encoder of `binascii`)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if text.isascii() and all(len(line) <= _MAX_LINE for line in text.split("\n")):
        return _Leaf(subtype, "7bit", text)
    body = binascii.b2a_qp(text.encode("utf-8", "surrogatepass"), istext=True).decode("ascii")
    return _Leaf(subtype, "quoted-printable", body)


@dataclass(frozen=True, slots=True)
class _Leaf:
    subtype: str
    encoding: str
    body: str  # encoded, "\n" line ends

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", f'text/{self.subtype}; charset="utf-8"'),
            ("Content-Transfer-Encoding", self.encoding),
        ]


@dataclass(frozen=True, slots=True)
class _Email:
    """What `build` and `render` both write: pre-encoded headers and the leaf parts."""

    headers: list[tuple[str, str]]
    leaves: list[_Leaf]
    boundary: str | None  # multipart/alternative when set


def _boundary(seed: str, bodies: list[str]) -> str:
    boundary, n = f"=_{seed}", 0
    while any(boundary in body for body in bodies):  # only a 7-bit body can hold "=_"
        n += 1
        boundary = f"=_{seed}_{n}"
    return boundary


def _compose(outgoing: Outgoing, domain: str, now: datetime | None) -> _Email:
    if not _DOMAIN.fullmatch(domain):
        raise InvalidEmail("domain", f"{domain!r} is not a domain name")
    content = outgoing.content
    html = _text(content, "html")
    text = _text(content, "text")
    if html is None and text is None:
        raise InvalidEmail("content", "an email needs an html or a text body")
    reply_to = content.get("replyTo")
    headers = [("From", mailbox("From", "from", outgoing.sender))]
    headers.append(("To", mailbox("To", "to", outgoing.to)))
    if reply_to:
        headers.append(("Reply-To", mailbox("Reply-To", "replyTo", reply_to)))
    headers.append(("Subject", unstructured("Subject", subject_of(content))))
    headers.append(("Date", format_datetime(now or datetime.now(UTC))))
    headers.append(("Message-ID", message_id(outgoing.id, domain)))
    if outgoing.unsubscribe_url:
        headers.append(("List-Unsubscribe", f"<{_unsubscribe(outgoing.unsubscribe_url)}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers.append(("MIME-Version", "1.0"))
    if html is None:
        return _Email(headers, [_leaf("plain", text or "")], None)
    leaves = [_leaf("plain", text or html_to_text(html)), _leaf("html", html)]
    boundary = _boundary(check_of(outgoing.id), [leaf.body for leaf in leaves])
    headers.append(("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    return _Email(headers, leaves, boundary)


def build(outgoing: Outgoing, *, domain: str, now: datetime | None = None) -> EmailMessage:
    """The MIME message for `outgoing` (see the module doc); `InvalidEmail` when it cannot be.

    `domain` is the right-hand side of the Message-ID; `now` the Date (the current time when
    not given). `message.as_bytes(policy=POLICY)` gives what `render` gives.
    """
    email = _compose(outgoing, domain, now)
    message = EmailMessage(policy=POLICY)
    for name, value in email.headers:
        message.set_raw(name, value)
    parts = []
    for leaf in email.leaves:
        part = message if email.boundary is None else EmailMessage(policy=POLICY)
        for name, value in leaf.headers():
            part.set_raw(name, value)
        part.set_payload(leaf.body)
        parts.append(part)
    if email.boundary is not None:
        for part in parts:
            message.attach(part)
    return message


def render(outgoing: Outgoing, *, domain: str, now: datetime | None = None) -> bytes:
    """The bytes of `build(...)` as sent in DATA (CRLF line ends), written directly.

    Raw UTF-8 only where an address has a local part that is not ASCII (`needs_utf8`):
    such a message must go with SMTPUTF8."""
    email = _compose(outgoing, domain, now)
    out = [f"{name}: {value}\r\n" for name, value in email.headers]
    if email.boundary is None:
        leaf = email.leaves[0]
        out.extend(f"{name}: {value}\r\n" for name, value in leaf.headers())
        out.append("\r\n")
        out.append(leaf.body.replace("\n", "\r\n"))
    else:
        out.append("\r\n")
        for leaf in email.leaves:
            out.append(f"--{email.boundary}\r\n")
            out.extend(f"{name}: {value}\r\n" for name, value in leaf.headers())
            out.append("\r\n")
            out.append(leaf.body.replace("\n", "\r\n"))
            out.append("\r\n")
        out.append(f"--{email.boundary}--\r\n")
    return "".join(out).encode("utf-8", "surrogatepass")


def needs_utf8(data: bytes) -> bool:
    """Whether rendered bytes hold raw UTF-8 (an address whose local part is not ASCII), so
    the message must go with SMTPUTF8."""
    return not data.isascii()


# --- the text part derived from HTML -------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "hr",
     "dl", "figure", "form", "address"}
)  # fmt: skip
_LINES = frozenset(
    {"div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "main", "nav",
     "aside", "caption", "center", "body", "html", "tbody", "thead", "tfoot", "figcaption"}
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "area", "base", "col"})
_SKIPPED_HREFS = ("#", "javascript:", "data:")
_LINE_END = "\x01"  # a block ends: a line break, unless the run already has one
_PARAGRAPH = "\x02"  # a paragraph or heading ends: a blank line
_BREAKS = re.compile(r"[\x01\x02\n](?:[ \t]*[\x01\x02\n])*")


class _TextMaker(HTMLParser):
    """Collects the text of an HTML document with line breaks where blocks end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive unescaped
        self.pieces: list[str] = []
        self._skipping: list[str] = []
        self._links: list[tuple[str | None, int]] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            if tag == self._skipping[-1] and tag not in _VOID:
                self._skipping.append(tag)
            return
        if tag in _SKIPPED:
            self._skipping.append(tag)
            return
        if tag == "br":
            self.pieces.append("\n")
        elif tag in _PARAGRAPHS:
            self.pieces.append(_PARAGRAPH)
            if tag == "pre":
                self._pre += 1
        elif tag in _LINES:
            self.pieces.append(_LINE_END)
            if tag == "li":
                self.pieces.append("- ")
        elif tag in _CELLS:
            self.pieces.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            self._links.append((href.strip() if href else None, len(self.pieces)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.pieces.append(f" {alt} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping[-1]:
                self._skipping.pop()
            return
        if tag in _PARAGRAPHS:
            self.pieces.append(_PARAGRAPH)
            if tag == "pre" and self._pre:
                self._pre -= 1
        elif tag in _LINES:
            self.pieces.append(_LINE_END)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            if href and not href.lower().startswith(_SKIPPED_HREFS):
                shown = _SPACES.sub(" ", "".join(self.pieces[start:])).strip()
                if not shown:
                    self.pieces.append(href)
                elif shown != href and shown != href.removeprefix("mailto:"):
                    self.pieces.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._pre:
            self.pieces.append(data.replace("\r\n", "\n").replace("\n", "\x00"))
        else:
            self.pieces.append(re.sub(r"\s+", " ", data))


def _breaks(run: re.Match[str]) -> str:
    """One run of block ends and `<br>`s: as many line ends as its strongest member asks
    (a paragraph two, a block one, each `<br>` one), so nested blocks add no blank lines."""
    found = run.group()
    strongest = 2 if _PARAGRAPH in found else 1 if _LINE_END in found else 0
    return "\n" * max(strongest, found.count("\n"))


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of `html` for the text/plain part.

    Scripts, styles and the head are dropped; a link reads "text (url)" (just the URL when
    its text is the URL or empty); block elements end lines, paragraphs and headings leave a
    blank line, list items start with "- "; entities are unescaped; runs of spaces become
    one and runs of blank lines one (inside `<pre>` line breaks are kept as written).
    """
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    text = _BREAKS.sub(_breaks, "".join(maker.pieces))
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(_SPACES.sub(" ", part).strip() for part in line.split("\x00"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"
