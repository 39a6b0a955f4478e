"""On the real clock an SFTP poll runs beside the engine's rounds: a server that never
answers (the poll waits for it up to the connect timeout) delays nobody else's journey."""

from __future__ import annotations

import socket
import time

import asyncssh

from tests.imports.helpers import flow as sftp_flow
from tidings.bench.launch import call
from tidings.bench.server import running_server
from tidings.channels.sftp import CONNECT_SECONDS

GREETING = {
    "name": "Greeting",
    "entry": {"type": "api"},
    "elements": [{"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi"}],
}


def test_a_silent_sftp_server_never_holds_other_journeys() -> None:
    silent = socket.socket()  # takes connections and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    try:
        env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1"}
        with running_server(clock="real", env=env) as server:
            port = server.port
            connection = {
                "name": "crm",
                "host": "127.0.0.1",
                "port": silent.getsockname()[1],
                "username": "crm",
                "password": "pa55-word",
                "hostKey": key,
            }
            call(port, "POST", "/sftp-connections", connection)
            waiting = call(port, "POST", "/flows", sftp_flow())
            call(port, "POST", f"/flows/{waiting['id']}/launch")  # its first poll is due now
            time.sleep(2)  # the poll has started and waits for the silent server
            greeting = call(port, "POST", "/flows", GREETING)
            call(port, "POST", f"/flows/{greeting['id']}/launch")
            started = time.monotonic()
            person = {"person": {"externalId": "ana", "phones": ["+385911234567"]}}
            call(port, "POST", f"/flows/{greeting['id']}/participants", person)
            sent: list[object] = []
            while not sent and time.monotonic() - started < CONNECT_SECONDS:
                time.sleep(0.1)
                sent = call(port, "GET", f"/sandbox/messages?flow={greeting['id']}")["items"]
            took = time.monotonic() - started
            assert sent, "the SMS never came"
            assert took < 5, f"the SMS waited {took:.1f} s behind the SFTP poll"
    finally:
        silent.close()
