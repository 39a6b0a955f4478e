"""The SMTP stand-in itself, driven by a plain client (aiosmtplib, and raw socket lines where
a client would not go): DATA read whole keeps every byte, fates and counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from tidings.channels.standins.smtp import SmtpStandin, message_id_of

pytestmark = pytest.mark.anyio


@pytest.fixture
async def standin() -> AsyncIterator[SmtpStandin]:
    async with SmtpStandin() as server:
        yield server


def message(body: str, message_id: str = "<m1@shop.example>") -> bytes:
    head = f"From: a@shop.example\r\nTo: b@example.com\r\nMessage-ID: {message_id}\r\n\r\n"
    return (head + body).encode()


async def sendmail(standin: SmtpStandin, data: bytes, to: str = "b@example.com") -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=standin.port, start_tls=False) as c:
        await c.sendmail("a@shop.example", [to], data)


async def test_dot_stuffed_lines_and_line_ends_arrive_as_sent(standin: SmtpStandin) -> None:
    body = ".starts with a dot\r\n..two dots\r\nmiddle . dot\r\n.\r\nend\r\n"
    await sendmail(standin, message(body))

    received = standin.received[0]
    assert received.data == message(body)
    assert received.mail_from == "a@shop.example"
    assert received.rcpt_tos == ("b@example.com",)
    assert received.message_id == "<m1@shop.example>"


async def test_a_message_larger_than_one_read_arrives_whole(standin: SmtpStandin) -> None:
    body = "".join(f"line {n:06d} " + "x" * 90 + "\r\n" for n in range(5000))  # ~500 KB
    await sendmail(standin, message(body))

    assert standin.received[0].data == message(body)


async def test_commands_pipelined_after_the_data_are_still_answered(standin: SmtpStandin) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", standin.port)
    await reader.readline()  # 220
    writer.write(b"EHLO client.example\r\n")
    while not (await reader.readline()).startswith(b"250 "):
        pass
    writer.write(b"MAIL FROM:<a@shop.example>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    answers = [await reader.readline() for _ in range(3)]
    writer.write(message("hi\r\n") + b".\r\nNOOP\r\nQUIT\r\n")  # the end and two commands
    answers += [await reader.readline() for _ in range(3)]
    writer.close()
    await writer.wait_closed()

    assert [a[:3] for a in answers] == [b"250", b"250", b"354", b"250", b"250", b"221"]
    assert standin.received[0].data == message("hi\r\n")


async def test_an_empty_message_is_taken(standin: SmtpStandin) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", standin.port)
    await reader.readline()
    writer.write(b"HELO client.example\r\nMAIL FROM:<a@shop.example>\r\n")
    writer.write(b"RCPT TO:<b@example.com>\r\nDATA\r\n")
    answers = [await reader.readline() for _ in range(4)]
    writer.write(b".\r\nQUIT\r\n")
    answers += [await reader.readline() for _ in range(2)]
    writer.close()
    await writer.wait_closed()

    assert [a[:3] for a in answers] == [b"250", b"250", b"250", b"354", b"250", b"221"]
    assert standin.received[0].data == b""


async def test_unusual_addresses_still_go_through_aiosmtpds_parser(standin: SmtpStandin) -> None:
    await sendmail(standin, message("x\r\n"), to='"quoted name"@example.com')

    assert standin.received[0].rcpt_tos == ('"quoted name"@example.com',)


async def test_fates_and_counts(standin: SmtpStandin) -> None:
    standin.reject("gone@example.com")
    standin.answer_next(1, 452, "4.2.2 Mailbox full")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await sendmail(standin, message("x\r\n"), to="gone@example.com")
    with pytest.raises(aiosmtplib.SMTPDataError) as full:
        await sendmail(standin, message("x\r\n"))
    await sendmail(standin, message("x\r\n"))
    await sendmail(standin, message("x\r\n"))  # the same Message-ID again

    assert full.value.code == 452
    assert (standin.count, standin.duplicates, standin.message_ids) == (2, 1, {"<m1@shop.example>"})
    assert standin.connections == 4


async def test_keep_false_keeps_only_counts_and_ids() -> None:
    async with SmtpStandin(keep=False) as server:
        await sendmail(server, message("x\r\n", "<a@x>"))
        await sendmail(server, message("x\r\n", "<b@x>"))

    assert server.received == []
    assert (server.count, server.message_ids) == (2, {"<a@x>", "<b@x>"})


def test_the_message_id_is_read_from_the_headers_only() -> None:
    data = b"Subject: x\r\nMessage-Id:  <id@x>\r\n\r\nMessage-ID: <body@x>\r\n"

    assert message_id_of(data) == "<id@x>"
    assert message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n") is None


async def test_settings_reach_the_standin(standin: SmtpStandin) -> None:
    assert standin.settings() == {"host": "127.0.0.1", "port": standin.port, "security": "none"}
    with pytest.raises(RuntimeError):
        _ = standin.certificate
