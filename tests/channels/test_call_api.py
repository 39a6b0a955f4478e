"""`CallApi` against a real loopback server: answers, retries, bounds and the SSRF guard.

Only 127.0.0.1 and ::1 are ever dialled. Names are mapped by a fake resolver; a "public"
answer is used only where the call must be refused before any connection.
"""

from __future__ import annotations

import logging
import socket

import pytest

from tests.channels.loopback import Loopback
from tidings.channels.call_api import ApiRequest, ApiResult, CallApi, backoff

pytestmark = pytest.mark.anyio


class Sleeps:
    """The injected sleep: records the backoff instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Names:
    """A fake resolver over a fixed table; unknown names fail like NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def get(url: str, *, timeout_seconds: float = 10.0, retries: int = 2, key: str = "") -> ApiRequest:
    return ApiRequest("GET", url, {}, None, timeout_seconds, retries, key)


async def call(request: ApiRequest, *, names: Names | None = None) -> tuple[ApiResult, Sleeps]:
    """`request` sent by a `CallApi` that allows private URLs (the server is loopback)."""
    sleeps = Sleeps()
    async with CallApi(allow_private=True, sleep=sleeps, resolver=names or Names()) as api:
        return await api.call(request), sleeps


async def test_a_json_object_body_is_merged_into_data(server: Loopback) -> None:
    result, _ = await call(get(server.url("/json")))

    assert (result.outcome, result.status, result.error, result.attempts) == (
        "success",
        200,
        None,
        1,
    )
    assert result.data["orderId"] == "o-1"
    assert result.data["lines"] == [1, 2]
    assert result.data["status"] == 200  # the HTTP status wins over the body's "status"
    assert result.data["body"] == {"orderId": "o-1", "status": "queued", "lines": [1, 2]}
    assert result.data["headers"]["content-type"] == "application/json"


async def test_a_text_body_stays_text(server: Loopback) -> None:
    result, _ = await call(get(server.url("/text")))

    assert result.outcome == "success"
    assert result.data["body"] == "hello, world"
    assert set(result.data) == {"status", "body", "headers"}


async def test_json_too_deep_to_parse_is_kept_as_text(server: Loopback) -> None:
    result, _ = await call(get(server.url("/deep")))

    assert result.outcome == "success"
    assert isinstance(result.data["body"], str)


async def test_the_request_goes_out_as_written_with_the_idempotency_key(
    server: Loopback,
) -> None:
    request = ApiRequest(
        "post",
        server.url("/echo"),
        {"Authorization": "Bearer s3cret", "Content-Type": "application/json",
         "Idempotency-Key": "spoofed", "Host": "elsewhere.example"},
        '{"cart": 42}',
        idempotency_key="outbox-42",
    )  # fmt: skip
    result, _ = await call(request)

    (seen,) = server.requests
    assert (seen.method, seen.body) == ("POST", b'{"cart": 42}')
    assert seen.headers["authorization"] == "Bearer s3cret"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["idempotency-key"] == "outbox-42"
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["accept-encoding"] == "identity"
    assert result.data["method"] == "POST"


async def test_a_4xx_is_final(server: Loopback) -> None:
    result, sleeps = await call(get(server.url("/status/404"), key="k"))

    assert (result.outcome, result.status, result.attempts) == ("failure", 404, 1)
    assert result.error == "HTTP 404 Not Found"
    assert result.data["error"] == "as asked"
    assert len(server.requests) == 1
    assert sleeps.delays == []


async def test_a_5xx_is_retried_with_the_same_idempotency_key(server: Loopback) -> None:
    result, sleeps = await call(get(server.url("/status/503"), key="outbox-7"))

    assert (result.outcome, result.status, result.attempts) == ("failure", 503, 3)
    assert result.error == "HTTP 503 Service Unavailable"
    assert [seen.headers["idempotency-key"] for seen in server.requests] == ["outbox-7"] * 3
    assert sleeps.delays == [0.5, 1.0]


async def test_a_retry_that_succeeds_ends_in_success(server: Loopback) -> None:
    result, _ = await call(get(server.url("/flaky/1"), retries=3))

    assert (result.outcome, result.status, result.attempts) == ("success", 200, 2)
    assert result.data["try"] == 2


async def test_no_retries_means_one_try(server: Loopback) -> None:
    result, _ = await call(get(server.url("/status/500"), retries=0))

    assert (result.outcome, result.attempts) == ("failure", 1)
    assert len(server.requests) == 1


async def test_a_slow_answer_times_out_and_is_retried(server: Loopback) -> None:
    result, sleeps = await call(get(server.url("/sleep"), timeout_seconds=0.2, retries=1))

    assert (result.outcome, result.status, result.attempts) == ("failure", None, 2)
    assert result.error == "timed out after 0.2 s"
    assert len(server.requests) == 2
    assert sleeps.delays == [0.5]


async def test_a_refused_connection_is_retried(closed_port: int) -> None:
    result, sleeps = await call(get(f"http://127.0.0.1:{closed_port}/"))

    assert (result.outcome, result.status, result.attempts) == ("failure", None, 3)
    assert result.error == "could not connect to 127.0.0.1: connection refused"
    assert sleeps.delays == [0.5, 1.0]


async def test_a_name_that_does_not_resolve_is_retried() -> None:
    result, _ = await call(get("http://nowhere.example/", retries=1))

    assert (result.outcome, result.attempts) == ("failure", 2)
    assert result.error == "could not resolve nowhere.example"


async def test_a_name_too_long_for_dns_does_not_raise() -> None:
    async with CallApi(allow_private=True, sleep=Sleeps()) as api:
        result = await api.call(get(f"http://{'a' * 70}.example/", retries=0))

    assert result.error == f"could not resolve {'a' * 70}.example"


async def test_a_redirect_is_not_followed(server: Loopback) -> None:
    result, _ = await call(get(server.url("/redirect")))

    assert (result.outcome, result.status, result.attempts) == ("failure", 302, 1)
    assert result.error == "HTTP 302 Found: redirects are not followed"
    assert result.data["headers"]["location"] == "/json"
    assert [seen.path for seen in server.requests] == ["/redirect"]


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_a_body_over_1_mb_is_a_failure(server: Loopback, path: str) -> None:
    result, _ = await call(get(server.url(path)))

    assert (result.outcome, result.status, result.attempts) == ("failure", 200, 1)
    assert result.error == "response too large (over 1 MB)"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://a.b/"])
async def test_only_http_and_https_are_called(url: str) -> None:
    result, _ = await call(get(url))

    assert result.outcome == "failure"
    assert result.error is not None
    assert result.error.startswith("refused: only http and https URLs are allowed")


@pytest.mark.parametrize(
    "url",
    ["http://", "http://exa mple.com/", "http://a.example:99999/", "http://[::1/", "not a url"],
)
async def test_a_malformed_url_is_a_failure(url: str) -> None:
    result, _ = await call(get(url))

    assert result.outcome == "failure"
    assert result.error is not None
    assert result.error.startswith(("invalid URL", "refused"))


async def test_a_header_that_cannot_be_sent_is_a_final_failure(server: Loopback) -> None:
    request = ApiRequest("GET", server.url("/json"), {"X-Bad": "a\r\nInjected: yes"}, None)
    result, sleeps = await call(request)

    assert (result.outcome, result.attempts) == ("failure", 1)
    assert server.requests == []
    assert sleeps.delays == []


async def test_headers_and_paths_are_not_logged(
    server: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    request = ApiRequest("GET", server.url("/json?token=q-secret"), {"X-Key": "h-secret"}, None)
    with caplog.at_level(logging.DEBUG, logger="tidings.channels"):
        await call(request)

    assert "call_api GET" in caplog.text
    assert "secret" not in caplog.text


def test_backoff_doubles_from_half_a_second_up_to_30() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4, 10)] == [0.5, 1.0, 2.0, 4.0, 30.0]
