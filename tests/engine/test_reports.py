"""Delivery reports: kept in the person's events, and still a stimulus for whoever cares.

The dispatcher writes a report straight into the person's events when nobody waits for
it and no flow enters on it or aims at it (engine/dispatch.py); these tests pin down
what must not be lost on the way: an entry on a message event, a wait for one, a goal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tests.conftest import Api
from tests.engine.test_journeys import drain, person
from tidings.bootstrap import Tidings
from tidings.domain.journey import SendMessage
from tidings.engine.dispatch import dispatch_once
from tidings.store import changes, outbox


def launch(api: Api, doc: dict[str, Any]) -> int:
    answer = api.post("/flows", json=doc)
    assert answer.status_code == 201, answer.text
    flow = int(answer.json()["id"])
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    return flow


def sms_to(tag: str) -> dict[str, Any]:
    return {
        "name": f"Hello {tag}",
        "entry": {"type": "audience", "tags": [tag], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [{"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hello"}],
    }


def names(api: Api, pid: int) -> list[str]:
    answer = api.get(f"/people/{pid}/events")
    assert answer.status_code == 200, answer.text
    return sorted(e["name"] for e in answer.json()["items"])


def test_reports_of_people_who_wait_nowhere_are_kept_in_their_events(api: Api) -> None:
    api.patch("/sandbox/settings", json={"delivered": 1, "seen": 1, "clicked": 0})
    pid = person(api, "quiet-one", tags=["quiet"])
    flow = launch(api, sms_to("quiet"))
    drain(api)
    assert names(api, pid) == ["message.delivered", "message.seen"]
    events = api.get(f"/people/{pid}/events").json()["items"]
    message = api.get("/sandbox/messages").json()["items"][0]
    for event in events:  # what a flow waiting for the report would have read
        assert event["properties"] == {
            "flow": flow,
            "version": 1,
            "element": "hi",
            "channel": "sms",
            "messageId": str(message["id"]),
        }
    # newest first: the message was seen after it was delivered
    assert [e["name"] for e in events] == ["message.seen", "message.delivered"]


def test_reports_of_a_person_deleted_after_the_send_was_queued_are_not_kept(
    api: Api, system: Tidings
) -> None:
    """The outbox row outlives its person (no foreign key); its reports must not bring
    back events of someone deleted."""
    api.patch("/sandbox/settings", json={"delivered": 1, "seen": 0, "clicked": 0})
    kept, gone = person(api, "kept"), person(api, "gone")
    flow = int(api.post("/flows", json=sms_to("nobody")).json()["id"])
    account = api.get("/account").json()["id"]
    message = SendMessage(element="hi", channel="sms", to="+385911234567", sender="S", content={})

    def queue(conn: Connection) -> None:
        rows = [
            outbox.message_row((account, None, flow, 1, pid), 0, message)  # type: ignore[arg-type]
            for pid in (kept, gone)
        ]
        changes.write_changes(conn, changes.Changes(outbox=rows))

    system.db.write(queue)
    assert api.delete(f"/people/{gone}").status_code == 204
    sent = system.db.write(
        lambda conn: dispatch_once(conn, 1, partitions=256, quiet=lambda account, name: True)
    )
    assert sent == 2
    assert names(api, kept) == ["message.delivered"]
    with system.db.read() as conn:
        left = conn.exec_driver_sql(f"SELECT count(*) FROM events WHERE person_id = {gone}")
        assert left.scalar() == 0


def test_a_flow_that_starts_on_a_message_event_still_gets_its_entries(api: Api) -> None:
    follow_up = launch(
        api,
        {
            "name": "Clicked follow-up",
            "entry": {"type": "event", "event": "message.delivered"},
            "elements": [{"id": "w", "type": "wait", "duration": "PT1H"}],
        },
    )
    pid = person(api, "clicker", tags=["clicker"])
    launch(api, sms_to("clicker"))
    drain(api)
    answer = api.get(f"/people/{pid}/journeys")
    assert answer.status_code == 200, answer.text
    flows = {j["flow"]: j["status"] for j in answer.json()["journeys"]}
    assert flows.get(follow_up) == "waiting"
    assert "message.delivered" in names(api, pid)


def test_a_wait_for_the_report_still_sees_it(api: Api) -> None:
    api.patch("/sandbox/settings", json={"delivered": 1, "seen": 0, "clicked": 0})
    pid = person(api, "waiter", tags=["waiter"])
    doc = sms_to("waiter")
    doc["elements"] = [
        {"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hello", "next": "w"},
        {
            "id": "w",
            "type": "wait_for_event",
            "element": "hi",
            "event": "message.delivered",
            "timeout": "P1D",
            "next": {"event": "done", "timeout": "done"},
        },
        {"id": "done", "type": "exit"},
    ]
    flow = launch(api, doc)
    drain(api)
    journey = next(j for j in api.get(f"/people/{pid}/journeys").json()["journeys"])
    assert journey["flow"] == flow
    assert journey["status"] == "exited"
    assert any(s["why"] == "event message.delivered" for s in journey["steps"])


def test_a_steps_messages_reach_the_sandbox_in_the_steps_own_transaction(
    api: Api, system: Tidings
) -> None:
    """hand_over: the outbox row is written done, with the sandbox message of the same
    id, by the batch that sent it; nothing is left for the dispatcher to read back."""
    api.patch("/sandbox/settings", json={"delivered": 0, "seen": 0, "clicked": 0})
    first, second = person(api, "one", tags=["now"]), person(api, "two", tags=["now"])
    launch(api, sms_to("now"))
    batches = system.runner.engine.run_once(system.clock.now())  # one step, no dispatcher
    assert batches[0] == 2
    with system.db.read() as conn:
        outbox = conn.exec_driver_sql(
            "SELECT id, person_id, status FROM outbox ORDER BY person_id"
        ).all()
        handed = conn.exec_driver_sql(
            "SELECT id, person_id, status FROM sandbox_messages ORDER BY person_id"
        ).all()
    mine = [row for row in outbox if row[1] in (first, second)]
    assert [(r[1], r[2]) for r in mine] == [(first, "done"), (second, "done")]
    assert [(r[0], r[1], r[2]) for r in handed if r[1] in (first, second)] == [
        (mine[0][0], first, "failed"),
        (mine[1][0], second, "failed"),
    ]
    assert names(api, first) == ["message.failed"]
