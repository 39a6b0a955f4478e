"""A server killed with SIGKILL while a batch is at Twilio, restarted, sends no message
twice, although Twilio (and its stand-in here) de-duplicates nothing: the batch's lease
ends, each message's earlier try is unknown, so the Twilio provider looks it up in
Twilio's list of messages (To, From) and takes the one it finds as sent instead of sending
again. Every person gets exactly one message, whose SID the outbox keeps, and its report
is delivered once. (The status callbacks are held back until then, so nothing but the
look-up can settle the unknown tries.)"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.channels.test_provider_crash import delivered_events, statuses
from tests.support.background import started
from tidings.bench.launch import call
from tidings.bench.population import populate
from tidings.bench.server import BENCH_KEY, free_port, running_server
from tidings.channels.standins.twilio import TwilioStandin

PEOPLE = 60
SID = "AC" + "4" * 32
TOKEN = "twilio-crash-token"
FLOW = {
    "name": "Crash",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "elements": [{"id": "sms1", "type": "send_sms", "from": "Shop",
                  "text": "Hi {{ person.firstName }}"}],
}  # fmt: skip


@pytest.mark.slow
def test_sigkill_while_a_batch_is_at_twilio_sends_each_person_one_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.db"
    url = f"sqlite:///{path}"
    populate(url, people_count=PEOPLE, api_key=BENCH_KEY)
    # Twilio answers late (the kill comes first) and posts no status callback at all.
    standin = TwilioStandin(
        account_sid=SID, auth_token=TOKEN, answer_delay=3.0, default_fate="none"
    )
    env = {"TIDINGS_ALLOW_PRIVATE_URLS": "1", "TIDINGS_SEND_LEASE_SECONDS": "2"}
    port = free_port()  # the same public URL after the restart: reports still reach it
    with started(standin) as background:
        with running_server(url, env=env, port=port) as server:
            connection = {"name": "Twilio", "provider": "twilio", "default": True,
                          "channels": ["sms"],
                          "settings": {"baseUrl": standin.url, "accountSid": SID,
                                       "authToken": TOKEN}}  # fmt: skip
            call(server.port, "POST", "/connections", connection)
            flow = call(server.port, "POST", "/flows", FLOW)
            call(server.port, "POST", f"/flows/{flow['id']}/launch")
            deadline = time.monotonic() + 60
            while len(standin.messages) < PEOPLE:  # the batch is at Twilio
                assert time.monotonic() < deadline, "nothing reached the provider"
                time.sleep(0.05)
            server.process.kill()  # SIGKILL before Twilio answered
            server.process.wait()
        before = statuses(path)
        assert before.get("sending", 0) == PEOPLE, before  # claimed, never settled

        standin.answer_delay = 0.0
        with running_server(url, env=env, port=port):
            deadline = time.monotonic() + 120
            while statuses(path).get("sent", 0) < PEOPLE:
                assert time.monotonic() < deadline, f"stuck: {statuses(path)}"
                time.sleep(0.2)
            time.sleep(1.0)  # anything sent twice would show up now
            assert statuses(path) == {"sent": PEOPLE}
            # now Twilio reports: each adopted SID's callback names its message
            standin.default_fate = "delivered"
            background.run(standin.report_again(), timeout=60)
            deadline = time.monotonic() + 60
            while delivered_events(path)[0] < PEOPLE:
                assert time.monotonic() < deadline, f"events: {delivered_events(path)}"
                time.sleep(0.2)
        assert standin.lookups >= 1  # the unknown tries were looked up...
        assert standin.duplicates == 0  # ...and none was sent again
        assert len(standin.messages) == PEOPLE
        assert len({m.to for m in standin.messages}) == PEOPLE  # one message a person
        with sqlite3.connect(path, timeout=30) as conn:
            sids = [r[0] for r in conn.execute("SELECT provider_id FROM outbox")]
        assert sorted(sids) == sorted(m.sid for m in standin.messages)  # each its own SID
        assert delivered_events(path) == (PEOPLE, PEOPLE)  # each delivered once
        assert statuses(path) == {"delivered": PEOPLE}
