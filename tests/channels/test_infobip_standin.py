"""The Infobip stand-in on its own: it refuses what Infobip would refuse, in Infobip's error
shape, and keeps up with the bench's batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tidings.channels.standins.infobip import DEFAULT_KEY, InfobipStandin

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"App {DEFAULT_KEY}"}


async def post(
    standin: InfobipStandin,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        data = body if isinstance(body, bytes | aiohttp.FormData) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **AUTH} if headers is None else headers
        if isinstance(body, aiohttp.FormData):
            sent.pop("Content-Type", None)
        async with session.post(standin.url + path, data=data, headers=sent) as response:
            return response.status, await response.json(content_type=None)


def sms(to: str = "385911234567", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"destinations": [{"to": to}], "content": {"text": "Hi"}, **extra}]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sms/3/messages", {"messages": []}, "body.messages"),
        ("/sms/3/messages", sms(**{"from": "Shop"}), "messages[0].from"),  # v2's field name
        (
            "/sms/3/messages",
            {"messages": [{"destinations": [{"to": "385"}], "content": {"text": ""}}]},
            "messages[0].content.text",
        ),
        (
            "/sms/3/messages",
            sms(webhooks={"delivery": {"url": "ftp://x"}}),
            "messages[0].webhooks.delivery.url",
        ),
        ("/whatsapp/1/message/text", {"from": "1", "to": "2", "content": {}}, "content.text"),
        (
            "/whatsapp/1/message/template",
            {
                "messages": [
                    {
                        "from": "1",
                        "to": "2",
                        "content": {
                            "templateName": "t",
                            "language": "en",
                            "templateData": {"body": {"placeholders": [1]}},
                        },
                    }
                ]
            },
            "messages[0].content.templateData.body.placeholders",
        ),
        (
            "/viber/2/messages",
            {
                "messages": [
                    {
                        "sender": "Shop",
                        "destinations": [{"to": "385911234567"}],
                        "content": {"type": "VIDEO"},
                    }
                ]
            },
            "messages[0].content.type",
        ),
        (
            "/tts/3/advanced",
            {"messages": [{"destinations": [{"to": "385911234567"}], "maxDtmf": 0, "text": "x"}]},
            "messages[0].maxDtmf",
        ),
    ],
)
async def test_bodies_of_the_wrong_shape_get_infobips_400(path: str, body: Any, field: str) -> None:
    async with InfobipStandin() as standin:
        status, answer = await post(standin, path, body)

        assert status == 400
        exception = answer["requestError"]["serviceException"]
        assert exception["messageId"] == "BAD_REQUEST"
        assert list(exception["validationErrors"]) == [field]
        assert standin.messages == []


async def test_an_email_without_a_subject_is_refused() -> None:
    async with InfobipStandin() as standin:
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("from", "shop@example.com")
        form.add_field("to", "ana@example.com")
        form.add_field("text", "Hi")
        status, answer = await post(standin, "/email/3/send", form, dict(AUTH))

        assert status == 400
        assert list(answer["requestError"]["serviceException"]["validationErrors"]) == ["subject"]


async def test_no_key_wrong_type_and_bad_json_are_refused() -> None:
    async with InfobipStandin() as standin:
        no_key = await post(standin, "/sms/3/messages", sms(), {"Content-Type": "application/json"})
        wrong_type = await post(
            standin, "/sms/3/messages", b"x", {**AUTH, "Content-Type": "text/plain"}
        )
        bad_json = await post(standin, "/sms/3/messages", b"{", None)

        assert no_key == (401, {"requestError": {"serviceException": {
            "messageId": "UNAUTHORIZED", "text": "Invalid login details"}}})  # fmt: skip
        assert wrong_type[0] == 415
        assert bad_json[0] == 400


async def test_without_a_report_url_nothing_is_reported() -> None:
    async with InfobipStandin() as standin:
        status, answer = await post(standin, "/sms/3/messages", sms())
        await standin.drain()

        assert status == 200
        assert answer["messages"][0]["status"]["name"] == "PENDING_ACCEPTED"
        assert len(standin.messages) == 1
        assert standin.report_posts == 0


@contextlib.asynccontextmanager
async def report_receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback webhook that takes the stand-in's reports: (its URL, the reports)."""
    received: list[dict[str, Any]] = []

    async def take(request: web.Request) -> web.Response:
        received.extend((await request.json())["results"])
        return web.Response()

    app = web.Application()
    app.router.add_post("/delivery", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/delivery", received
    finally:
        await runner.cleanup()


async def test_it_keeps_up_with_bench_sized_batches() -> None:
    """20,000 SMS in batches of 1,000 accepted and reported well within the bench's pace
    (a loose bound here: the bench measures)."""
    async with (
        report_receiver() as (report_url, received),
        InfobipStandin() as standin,
        aiohttp.ClientSession() as session,
    ):
        started = time.perf_counter()

        async def batch(n: int) -> None:
            body = {
                "messages": [
                    {
                        "sender": "Shop",
                        "destinations": [{"to": f"38591{n:03d}{i:04d}", "messageId": f"{n}-{i}"}],
                        "content": {"text": "Hello"},
                        "webhooks": {"delivery": {"url": report_url}},
                    }
                    for i in range(1000)
                ]
            }
            headers = {"Content-Type": "application/json", **AUTH}
            async with session.post(
                standin.url + "/sms/3/messages", data=json.dumps(body), headers=headers
            ) as response:
                assert response.status == 200
                await response.read()

        await asyncio.gather(*(batch(n) for n in range(20)))
        async with asyncio.timeout(20):
            await standin.drain()
        elapsed = time.perf_counter() - started

        assert len(standin.messages) == 20_000
        assert len(received) == standin.reports_posted == 20_000
        assert standin.report_posts == 200
        assert elapsed < 10
