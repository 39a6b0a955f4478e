"""The MIME message of an outgoing email, read back with the stdlib parser as a mail client
would read it: structure, headers, encodings, the derived text part, header injection."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.errors import NonASCIILocalPartDefect
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.channels.email_message import (
    POLICY,
    InvalidEmail,
    build,
    html_to_text,
    message_id,
    needs_utf8,
    outbox_id_of,
    render,
)
from tidings.channels.providers import Outgoing

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
HTML = (
    "<html><head><title>Cart</title><style>p { color: red }</style></head><body>"
    "<h1>Hello &amp; welcome, Ana</h1>"
    "<p>Your cart has <b>3 items</b>.&nbsp;See <a href='https://t.example/t/abc'>your cart</a>."
    "</p><ul><li>Socks</li><li>Hat</li></ul><script>alert('x')</script>"
    "<p><a href='https://t.example/t/raw'>https://t.example/t/raw</a></p>"
    "<img src='https://t.example/o/1.gif' width='1' height='1'>"
    "<p>Unsubscribe: <a href='https://t.example/u/1'>here</a></p></body></html>"
)


def outgoing(**content: Any) -> Outgoing:
    unsubscribe = content.pop("unsubscribe_url", "https://t.example/u/1")
    to = content.pop("to", "ana@example.com")
    sender = content.pop("sender", "Shop <news@shop.example>")
    body = {"subject": "Your cart", "html": HTML} | content
    return Outgoing("01JH0000000000000000000001", "email", to, sender, body, 1, unsubscribe)


def parsed(message: Outgoing) -> EmailMessage:
    data = render(message, domain="shop.example", now=NOW)
    if data.isascii():
        result = BytesParser(policy=policy.default).parsebytes(data)
    else:  # SMTPUTF8: the headers are UTF-8, as a server that took it reads them
        result = Parser(policy=policy.default).parsestr(data.decode("utf-8"))
    assert isinstance(result, EmailMessage)
    return result


def content(part: EmailMessage) -> str:
    """A text part's content with the line ends a reader sees (the wire has CRLF)."""
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def test_html_gives_multipart_alternative_with_text_first_and_html_second() -> None:
    message = parsed(outgoing())

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert content(parts[1]) == HTML + "\n"
    assert message.get_body(("html",)) is parts[1]  # the part a client shows
    assert message["MIME-Version"] == "1.0"


def test_the_text_part_is_derived_from_the_html() -> None:
    text = content(next(iter(parsed(outgoing()).iter_parts())))

    assert text == (
        "Hello & welcome, Ana\n"
        "\n"
        "Your cart has 3 items. See your cart (https://t.example/t/abc).\n"
        "\n"
        "- Socks\n"
        "- Hat\n"
        "\n"
        "https://t.example/t/raw\n"
        "\n"
        "Unsubscribe: here (https://t.example/u/1)\n"
    )


def test_html_to_text_drops_scripts_styles_and_the_head() -> None:
    text = html_to_text(
        "<head><title>T</title><script>var a = '<p>no</p>';</script></head>"
        "<body><style>.x{}</style><div>a&lt;b &eacute;</div><div>two   spaces<br>next</div>"
        "<table><tr><td>c1</td><td>c2</td></tr></table><a href='#top'>top</a>"
        " <a href='mailto:help@shop.example'>help@shop.example</a></body>"
    )

    assert text == "a<b é\ntwo spaces\nnext\n\nc1 c2\n\ntop help@shop.example\n"


def test_a_given_text_part_is_used_as_it_is() -> None:
    parts = list(parsed(outgoing(text="Plain words.\nLine two.")).iter_parts())

    assert content(parts[0]) == "Plain words.\nLine two.\n"


def test_text_alone_is_a_single_text_part() -> None:
    message = parsed(outgoing(html=None, text="Only text, čćž."))

    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    assert content(message) == "Only text, čćž.\n"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"


def test_an_email_needs_a_body() -> None:
    with pytest.raises(InvalidEmail) as refused:
        build(outgoing(html=None), domain="shop.example")

    assert refused.value.field == "content"


def test_headers() -> None:
    message = parsed(outgoing(replyTo="Help desk <help@shop.example>"))

    assert message["From"] == "Shop <news@shop.example>"
    assert message["To"] == "ana@example.com"
    assert message["Reply-To"] == "Help desk <help@shop.example>"
    assert message["Subject"] == "Your cart"
    assert message["Date"].datetime == NOW
    assert message["List-Unsubscribe"] == "<https://t.example/u/1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not message.defects
    assert all(not part.defects for part in message.walk())


def test_no_unsubscribe_url_no_list_headers_and_no_reply_to_without_one() -> None:
    message = parsed(outgoing(unsubscribe_url=None))

    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message
    assert "Reply-To" not in message


def test_a_long_unsubscribe_url_stays_one_url() -> None:
    url = "https://t.example/u/" + "a1b2c3" * 30
    data = render(outgoing(unsubscribe_url=url), domain="shop.example", now=NOW)

    assert f"List-Unsubscribe: <{url}>\r\n".encode() in data  # not encoded words, not folded


def test_the_message_id_carries_the_outbox_id_and_is_the_same_on_every_build() -> None:
    message = parsed(outgoing())
    again = parsed(outgoing())

    assert message["Message-ID"] == again["Message-ID"]
    assert message["Message-ID"].startswith("<01JH0000000000000000000001.")
    assert message["Message-ID"].endswith("@shop.example>")
    assert outbox_id_of(message["Message-ID"]) == "01JH0000000000000000000001"
    assert outbox_id_of(message_id("a.b.c", "x.example")) == "a.b.c"


@pytest.mark.parametrize(
    "header",
    ["<someone.else@gmail.com>", "<01JH0000000000000000000001.0000000000@shop.example>",
     "no-at-sign", "<.abc@x>", ""],
)  # fmt: skip
def test_outbox_id_of_a_message_id_that_is_not_ours_is_none(header: str) -> None:
    assert outbox_id_of(header) is None


def test_a_utf8_subject_and_display_name_are_encoded_words_and_read_back() -> None:
    subject = "Vaša košarica čeka 🛒 — and a long tail of words to fold over two lines"
    data = render(
        outgoing(subject=subject, to="Ana Šimić <ana@example.com>"), domain="shop.example"
    )
    message = BytesParser(policy=policy.default).parsebytes(data)

    assert data.isascii()
    assert b"=?utf-8?b?" in data
    assert message["Subject"] == subject
    assert message["To"] == "Ana Šimić <ana@example.com>"
    header_lines = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines) <= 78


def test_an_ascii_subject_that_looks_encoded_is_encoded() -> None:
    message = parsed(outgoing(subject="Save =?utf-8?q?now?="))

    assert message["Subject"] == "Save =?utf-8?q?now?="


def test_render_writes_what_the_stdlib_generator_writes() -> None:
    for content in (
        {},
        {"text": "plain"},
        {"html": None, "text": "only text"},
        {"subject": "Ünïcode", "replyTo": "Désk <d@shop.example>"},
    ):
        built = build(outgoing(**content), domain="shop.example", now=NOW)
        assert render(outgoing(**content), domain="shop.example", now=NOW) == built.as_bytes(
            policy=POLICY
        )


def test_bodies_are_seven_bit_and_lines_stay_within_998_octets() -> None:
    html = "<p>" + "čćž " * 600 + "</p>"  # one line of 2,400 characters
    data = render(outgoing(html=html), domain="shop.example", now=NOW)
    message = BytesParser(policy=policy.default).parsebytes(data)

    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert content(list(message.iter_parts())[1]) == html + "\n"


def test_an_international_domain_goes_as_idna_and_a_utf8_local_part_needs_smtputf8() -> None:
    idn = render(outgoing(to="ana@bücher.example"), domain="shop.example")
    utf8 = render(outgoing(to="ana.šimić@example.com"), domain="shop.example")

    assert b"To: ana@xn--bcher-kva.example\r\n" in idn
    assert not needs_utf8(idn)
    assert needs_utf8(utf8)
    assert "To: ana.šimić@example.com\r\n".encode() in utf8


@pytest.mark.parametrize(
    ("to", "name", "spec"),
    [
        ('"Doe, John" <john@example.com>', "Doe, John", "john@example.com"),
        ('"Ana \\"the\\" Š." <ana@example.com>', 'Ana "the" Š.', "ana@example.com"),
        ("Dr. Who <who@example.com>", "Dr. Who", "who@example.com"),
        ("Ana <ana.šimić@example.com>", "Ana", "ana.šimić@example.com"),
    ],
)
def test_display_names_are_quoted_or_encoded_as_needed(to: str, name: str, spec: str) -> None:
    message = parsed(outgoing(to=to))

    assert message["To"].addresses[0].display_name == name
    assert message["To"].addresses[0].addr_spec == spec
    assert not [d for d in message["To"].defects if not isinstance(d, NonASCIILocalPartDefect)]


@pytest.mark.parametrize(
    ("field", "content"),
    [
        ("to", {"to": "ana@example.com\r\nBcc: everyone@example.com"}),
        ("to", {"to": "ana@example.com\nBcc: everyone@example.com"}),
        ("from", {"sender": "Shop <news@shop.example>\r\nX-Evil: 1"}),
        ("replyTo", {"replyTo": "help@shop.example\rBcc: x@example.com"}),
        ("to", {"to": "not an address"}),
        ("to", {"to": "two@example.com, three@example.com"}),
        ("unsubscribe_url", {"unsubscribe_url": "https://t.example/u\r\nBcc: x@example.com"}),
        ("unsubscribe_url", {"unsubscribe_url": "javascript:alert(1)"}),
    ],
)
def test_line_breaks_and_non_addresses_in_address_fields_are_refused(
    field: str, content: dict[str, Any]
) -> None:
    with pytest.raises(InvalidEmail) as refused:
        render(outgoing(**content), domain="shop.example")

    assert refused.value.field == field


def test_line_breaks_in_the_subject_become_spaces_and_inject_nothing() -> None:
    data = render(outgoing(subject="Hello\r\nBcc: everyone@example.com\n"), domain="shop.example")
    message = BytesParser(policy=policy.default).parsebytes(data)

    assert message["Subject"] == "Hello Bcc: everyone@example.com"
    assert "Bcc" not in message


@given(st.text(max_size=200))
def test_any_subject_reads_back_as_one_line(subject: str) -> None:
    data = render(outgoing(subject=subject), domain="shop.example", now=NOW)
    message = BytesParser(policy=policy.default).parsebytes(data)

    expected = " ".join("".join(" " if ord(c) < 32 or c == "\x7f" else c for c in subject).split())
    assert message["Subject"] == expected
    assert data.isascii()


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=500))
def test_any_text_body_reads_back(text: str) -> None:
    message = parsed(outgoing(html=None, text=text or "x"))

    expected = (text or "x").replace("\r\n", "\n").replace("\r", "\n")
    assert content(message).rstrip("\n") == expected.rstrip("\n")
