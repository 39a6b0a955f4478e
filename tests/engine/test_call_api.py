"""call_api end to end: a real loopback HTTP server, the outbox id as Idempotency-Key,
response fields into variables, and the private-address guard."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages


def answer_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    """Answer a loopback request with a JSON body."""
    answer = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(answer)))
    handler.end_headers()
    handler.wfile.write(answer)


class Sink:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body.decode()}
                )
                answer_json(self, 201, {"orderId": "A-17"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def flow(port: int) -> dict[str, Any]:
    return {
        "name": "Order",
        "entry": {"type": "api"},
        "variables": [{"name": "sku", "type": "text"}, {"name": "orderId", "type": "text"}],
        "elements": [
            {
                "id": "order",
                "type": "call_api",
                "method": "POST",
                "url": f"http://127.0.0.1:{port}/orders",
                "headers": {"Content-Type": "application/json"},
                "body": '{"sku": "{{ sku }}"}',
                "assign": {"orderId": "response.orderId"},
                "next": {"success": "ok", "failure": "sorry"},
            },
            {"id": "ok", "type": "send_sms", "from": "Shop", "text": "Order {{ orderId }}"},
            {"id": "sorry", "type": "send_sms", "from": "Shop", "text": "Sorry"},
        ],
    }


def enter(api: Api, flow_id: int) -> None:
    answer = api.post(
        f"/flows/{flow_id}/participants",
        json={
            "person": {"externalId": "p", "phones": ["+385911234567"]},
            "variables": {"sku": "X1"},
        },
    )
    assert answer.status_code == 202, answer.text


def test_the_call_reaches_the_server_and_its_answer_the_flow(api: Api, sink: Sink) -> None:
    api.patch("/account", json={"allowPrivateUrls": True})
    flow_id = launched(api, flow(sink.port))["id"]
    enter(api, flow_id)
    drain(api)
    assert len(sink.requests) == 1
    request = sink.requests[0]
    assert request["path"] == "/orders"
    assert json.loads(request["body"]) == {"sku": "X1"}
    assert request["headers"]["Idempotency-Key"].isdigit()
    assert [m["text"] for m in messages(api, flow_id)] == ["Order A-17"]


def test_private_addresses_are_refused_unless_allowed(api: Api, sink: Sink) -> None:
    flow_id = launched(api, flow(sink.port))["id"]
    enter(api, flow_id)
    drain(api)
    assert sink.requests == []
    assert [m["text"] for m in messages(api, flow_id)] == ["Sorry"]


def test_an_answer_that_comes_while_the_flow_is_paused_is_held_until_resume(api: Api) -> None:
    """Pause holds the person where they are, and the answer of a call already made with
    them: after resume the flow goes on with that answer, not with a lost one."""
    gate = threading.Event()
    arrived = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived.set()
            gate.wait(30)
            answer_json(self, 200, {"orderId": "B-9"})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api.patch("/account", json={"allowPrivateUrls": True})
        flow_id = launched(api, flow(server.server_address[1]))["id"]
        enter(api, flow_id)
        advancing = threading.Thread(target=drain, args=(api,))
        advancing.start()
        assert arrived.wait(30), "the call was made"
        assert api.post(f"/flows/{flow_id}/pause").status_code == 200
        gate.set()  # the answer comes back while the flow is paused
        advancing.join(60)
        drain(api, "PT2H")  # longer than the call's grace: nothing may time out meanwhile
        assert messages(api, flow_id) == []

        assert api.post(f"/flows/{flow_id}/resume").status_code == 200
        drain(api)
        assert [m["text"] for m in messages(api, flow_id)] == ["Order B-9"]
    finally:
        gate.set()
        server.shutdown()
        server.server_close()
