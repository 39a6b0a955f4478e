"""`messagesSent` counts what the guide counts: "messages, Start a Call, or Call API" per
element, and their sum for the flow; a call_api counts once per call, not per retry; a
`notify` counts on its element only."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_call_api import answer_json
from tests.engine.test_journeys import drain, perf


def test_calls_and_api_calls_count_as_messages_sent(api: Api) -> None:
    requests: list[str] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append(self.path)
            if len(requests) == 1:
                answer_json(self, 503, {})  # the first try fails: retried, counted once
            else:
                answer_json(self, 200, {})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api.patch("/account", json={"allowPrivateUrls": True})
        doc = {
            "name": "Counts",
            "entry": {"type": "api"},
            "elements": [
                {"id": "sms", "type": "send_sms", "from": "S", "text": "Hi", "next": "call"},
                {
                    "id": "call",
                    "type": "voice_call",
                    "from": "+385911111111",
                    "say": "Hello",
                    "next": {"answered": "api", "notAnswered": "api"},
                },
                {
                    "id": "api",
                    "type": "call_api",
                    "method": "POST",
                    "url": f"http://127.0.0.1:{server.server_address[1]}/hook",
                    "next": {"success": "boss", "failure": "boss"},
                },
                {
                    "id": "boss",
                    "type": "notify",
                    "channel": "sms",
                    "from": "Alerts",
                    "to": "'+385919999999'",
                    "text": "Someone came",
                },
            ],
        }
        flow = launched(api, doc)["id"]
        for who in ("a", "b"):
            body = {"person": {"externalId": who, "phones": ["+385911234567"]}}
            answer = api.post(f"/flows/{flow}/participants", json=body)
            assert answer.status_code == 202, answer.text
        drain(api)
        drain(api, "PT2H")  # a call not answered in time goes on
        drain(api)
    finally:
        server.shutdown()
        server.server_close()
    assert len(requests) == 3  # two calls, one of them tried twice
    stats = perf(api, flow)
    elements = stats["elements"]
    assert elements["sms"]["messagesSent"] == 2
    assert elements["call"]["messagesSent"] == 2
    assert elements["api"]["messagesSent"] == 2
    assert elements["boss"]["messagesSent"] == 2
    assert stats["flow"]["messagesSent"] == 6  # the notifications are not to the people
