"""The schedule end to end: start and end in the flow's zone, the end stopping entries while
the people inside finish, the quiet year, and one schedule for every version; through the
public API on the virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import event, messages, perf, person
from tests.engine.timing import AUCKLAND, ZAGREB, advance_by, advance_to, at, clock


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def api_flow(api: Api, schedule: dict[str, Any], timezone: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "Scheduled",
        "entry": {"type": "api"},
        "settings": {"schedule": schedule},
        "elements": [{"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi"}],
    }
    if timezone is not None:
        doc["timezone"] = timezone
    return launched(api, doc)


def waiting_flow(api: Api, end: datetime | None, wait: str = "P2D") -> int:
    """Enters on CartAbandoned, waits, then sends an SMS."""
    doc = {
        "name": "Waits",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"schedule": {"start": None, "end": None if end is None else iso(end)}},
        "elements": [
            {"id": "wait", "type": "wait", "duration": wait, "next": "sms"},
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi"},
        ],
    }
    return int(launched(api, doc)["id"])


def join(api: Api, flow: int, who: str = "ana") -> int:
    body = {"person": {"externalId": who, "phones": ["+385911234567"]}}
    status: int = api.post(f"/flows/{flow}/participants", json=body).status_code
    return status


def statuses(api: Api, flow: int) -> dict[int, str]:
    return {v["version"]: v["status"] for v in api.get(f"/flows/{flow}/versions").json()}


def flow_status(api: Api, flow: int) -> str:
    status: str = api.get(f"/flows/{flow}").json()["status"]
    return status


def test_start_and_end_are_wall_times_in_the_flows_zone(api: Api) -> None:
    day = clock(api).astimezone(AUCKLAND).date() + timedelta(days=3)
    start, end = at(AUCKLAND, day, 9), at(AUCKLAND, day + timedelta(days=2), 18)
    schedule = {"start": f"{day}T09:00", "end": f"{day + timedelta(days=2)}T18:00"}
    flow = api_flow(api, schedule, "Pacific/Auckland")
    fid = flow["id"]
    assert flow["status"] == "scheduled"
    assert flow["schedule"] == {"start": iso(start), "end": iso(end)}
    assert join(api, fid) == 409
    advance_to(api, start - timedelta(minutes=1))
    assert flow_status(api, fid) == "scheduled"
    advance_to(api, start)
    assert flow_status(api, fid) == "active"
    assert join(api, fid) == 202
    advance_by(api)
    assert len(messages(api, fid)) == 1
    advance_to(api, end - timedelta(minutes=1))
    assert flow_status(api, fid) == "active"
    advance_to(api, end)
    assert flow_status(api, fid) == "finished"  # nobody was inside
    assert join(api, fid) == 409


def test_without_a_flow_zone_wall_times_are_the_accounts(api: Api) -> None:
    assert api.patch("/account", json={"timezone": "Europe/Zagreb"}).status_code == 200
    day = clock(api).astimezone(ZAGREB).date() + timedelta(days=3)
    flow = api_flow(api, {"start": f"{day}T09:00", "end": None}, None)
    assert flow["schedule"]["start"] == iso(at(ZAGREB, day, 9))
    advance_to(api, at(ZAGREB, day, 9))
    assert flow_status(api, flow["id"]) == "active"


def test_the_end_stops_new_entries_while_those_inside_finish(api: Api) -> None:
    end = clock(api) + timedelta(days=1)
    flow = waiting_flow(api, end)
    person(api, "a")
    person(api, "b", phones=["+385911234568"])
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_to(api, end)
    assert statuses(api, flow) == {1: "finishing"}
    assert flow_status(api, flow) == "finishing"
    event(api, "CartAbandoned", "b", cartValue=80)  # after the end: nobody enters
    advance_by(api)
    assert perf(api, flow)["flow"]["profilesInFlow"] == 1
    advance_by(api, "P1D")  # a's two days are up
    assert [m["to"] for m in messages(api, flow)] == ["+385911234567"]
    assert statuses(api, flow) == {1: "finished"}
    advance_by(api, "P3D")
    assert len(messages(api, flow)) == 1


def test_a_flow_in_which_nothing_fires_for_a_year_stops_by_itself(api: Api) -> None:
    launched_at = clock(api)
    flow = waiting_flow(api, None, wait="PT1H")
    person(api, "a")
    advance_by(api, "P200D")
    event(api, "CartAbandoned", "a", cartValue=80)  # elements fire: the year starts again
    advance_by(api, "PT2H")
    fired_at = clock(api) - timedelta(hours=1)  # the SMS, an hour after the entry
    assert len(messages(api, flow)) == 1
    advance_to(api, launched_at + timedelta(days=366))
    assert flow_status(api, flow) == "active"
    advance_to(api, fired_at + timedelta(days=365) - timedelta(hours=1))
    assert flow_status(api, flow) == "active"
    advance_to(api, fired_at + timedelta(days=365, minutes=1))
    assert flow_status(api, flow) == "finished"
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_by(api, "P1D")
    assert len(messages(api, flow)) == 1


def test_one_schedule_for_every_version_the_latest_change_wins(api: Api) -> None:
    now = clock(api)
    first_end = now + timedelta(days=1)
    flow = waiting_flow(api, first_end, wait="P10D")
    person(api, "a")
    person(api, "b", phones=["+385911234568"])
    event(api, "CartAbandoned", "a", cartValue=80)
    advance_by(api)
    # Version 2 ends later: its schedule becomes the flow's.
    assert api.post(f"/flows/{flow}/versions").status_code == 201
    document = api.get(f"/flows/{flow}").json()["document"]
    second_end = now + timedelta(days=5)
    document["settings"]["schedule"]["end"] = iso(second_end)
    assert api.put(f"/flows/{flow}/document", json=document).status_code == 200
    answer = api.post(f"/flows/{flow}/launch")
    assert answer.status_code == 200, answer.text
    assert answer.json()["schedule"]["end"] == iso(second_end)
    advance_to(api, first_end + timedelta(hours=1))
    assert statuses(api, flow) == {1: "finishing", 2: "active"}  # 1 finishes its person
    event(api, "CartAbandoned", "b", cartValue=80)
    advance_by(api)
    assert perf(api, flow, "2")["flow"]["profilesInFlow"] == 1
    # An in-place edit of version 1's schedule is the flow's schedule too: version 2 stops.
    third_end = now + timedelta(days=3)
    edit = {"settings": {"schedule": {"start": None, "end": iso(third_end)}}}
    changed = api.patch(f"/flows/{flow}/versions/1", json=edit)
    assert changed.status_code == 200, changed.text
    assert changed.json()["schedule"]["end"] == iso(third_end)
    advance_to(api, third_end)
    assert statuses(api, flow) == {1: "finishing", 2: "finishing"}
    advance_by(api, "P10D")  # both people finish their wait and get the SMS
    assert statuses(api, flow) == {1: "finished", 2: "finished"}
    assert sorted((m["version"], m["to"]) for m in messages(api, flow)) == [
        (1, "+385911234567"),
        (2, "+385911234568"),
    ]
