"""Real-time predefined audiences through the public API, on both databases: a person
enters when they join one of the audience's sources (a tag, a segment, a company, the
people named) after launch, and the flow's re-entry settings decide whether someone who
was in the flow before enters again (the guide, "Add or remove audience in an active
flow"). Staying a member is no join; joining while inside the flow changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person
from tidings.bootstrap import Tidings
from tidings.store.tables import audience_members


def audience(api: Api, reentry: dict[str, Any] | None = None, **sources: Any) -> dict[str, Any]:
    """A real-time audience flow that sends one SMS and exits at once (its tags exist)."""
    for tag in sources.get("tags", []):
        assert api.post("/tags", json={"name": tag}).status_code in (201, 409)
    return {
        "name": "Real-time",
        "entry": {"type": "audience", "update": "realtime", **sources},
        "settings": {"reentry": reentry or {"enabled": True}},
        "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello"}],
    }


def change(api: Api, pid: int, **fields: Any) -> None:
    answer = api.patch(f"/people/{pid}", json=fields)
    assert answer.status_code == 200, answer.text


def sent_to(api: Api, flow: int, pid: int) -> int:
    return sum(1 for m in messages(api, flow) if m["person"] == pid)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_person_who_left_the_flow_and_joins_another_tag_of_the_audience(
    api: Api, enabled: bool
) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, {"enabled": enabled}, tags=["a", "b"]))["id"]
    drain(api)
    assert sent_to(api, flow, pid) == 1  # entered at launch, and exited
    change(api, pid, tags=["a", "b"])
    drain(api, "PT1M")
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == (2 if enabled else 1)
    refused = perf(api, flow)["flow"]["refusedEntries"]
    assert refused == ({} if enabled else {"reentryDisabled": 1})


def test_a_member_who_stays_does_not_enter_again(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"]))["id"]
    drain(api)
    for step in ("PT10S", "PT1M", "PT1H", "P1D"):
        drain(api, step)
    change(api, pid, firstName="Anna", tags=["a", "other"])  # still a member
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == 1
    assert perf(api, flow)["flow"]["refusedEntries"] == {}


def test_leaving_the_tag_and_getting_it_back_is_a_new_join(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"]))["id"]
    drain(api)
    change(api, pid, tags=[])
    drain(api, "PT1M")
    assert sent_to(api, flow, pid) == 1
    change(api, pid, tags=["a"])
    drain(api, "PT1M")
    assert sent_to(api, flow, pid) == 2
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == 2


def test_joining_while_inside_the_flow_changes_nothing(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    doc = audience(api, tags=["a", "b"])
    doc["elements"] = [
        {"id": "w", "type": "wait", "duration": "P1D", "next": "s"},
        {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello"},
    ]
    flow = launched(api, doc)["id"]
    drain(api, "PT1H")
    change(api, pid, tags=["a", "b"])  # joins b while waiting inside the flow
    drain(api, "PT1H")
    drain(api, "P3D")
    assert sent_to(api, flow, pid) == 1
    assert perf(api, flow)["flow"]["refusedEntries"] == {}


@pytest.mark.parametrize("by", ["name", "id"])
def test_a_segment_source_is_joined_by_changing_an_attribute(api: Api, by: str) -> None:
    rule = {"attribute": "country", "op": "eq", "value": "HR"}
    created = api.post("/segments", json={"name": "Croatians", "rule": rule})
    assert created.status_code == 201, created.text
    ref = "Croatians" if by == "name" else created.json()["id"]
    ana = person(api, "ana", country="HR")
    ivo = person(api, "ivo", country="SI", phones=["+385911234568"])
    flow = launched(api, audience(api, segments=[ref]))["id"]
    drain(api)
    assert (sent_to(api, flow, ana), sent_to(api, flow, ivo)) == (1, 0)
    change(api, ivo, country="HR")  # joins
    change(api, ana, country="SI")  # leaves
    drain(api, "PT1M")
    assert (sent_to(api, flow, ana), sent_to(api, flow, ivo)) == (1, 1)
    change(api, ana, country="HR")  # joins again
    drain(api, "PT1M")
    drain(api, "P1D")
    assert (sent_to(api, flow, ana), sent_to(api, flow, ivo)) == (2, 1)


def test_a_company_source_is_joined_by_a_person_who_was_in_the_flow(api: Api) -> None:
    assert api.post("/companies", json={"name": "Acme"}).status_code == 201
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"], companies=["Acme"]))["id"]
    drain(api)
    change(api, pid, companies=["Acme"])
    drain(api, "PT1M")
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == 2


def test_the_reentry_delay_holds_a_joiner_back(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, {"enabled": True, "delay": "P1D"}, tags=["a", "b"]))["id"]
    drain(api)
    change(api, pid, tags=["a", "b"])  # within the delay: refused, and not kept for later
    drain(api, "PT1M")
    drain(api, "P2D")
    assert sent_to(api, flow, pid) == 1
    assert perf(api, flow)["flow"]["refusedEntries"] == {"reentryDelay": 1}
    change(api, pid, tags=["a"])
    drain(api, "PT1M")
    change(api, pid, tags=["a", "b"])  # after the delay: enters
    drain(api, "PT1M")
    assert sent_to(api, flow, pid) == 2


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("how", ["patch", "audience"])
def test_a_source_added_to_the_active_flow_lets_its_members_in_again(
    api: Api, how: str, enabled: bool
) -> None:
    """The guide's Segment_A / Segment_B example: the person was in the flow through A;
    B, which they are also in, is added."""
    pid = person(api, "ana", tags=["a", "b"])
    flow = launched(api, audience(api, {"enabled": enabled}, tags=["a"]))["id"]
    drain(api)
    if how == "patch":
        answer = api.patch(f"/flows/{flow}/versions/1", json={"entry": {"tags": ["a", "b"]}})
    else:
        answer = api.post(f"/flows/{flow}/audience", json={"add": {"tags": ["b"]}})
    assert answer.status_code == 200, answer.text
    drain(api)
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == (2 if enabled else 1)


def test_a_person_named_in_the_audience_after_launch_enters_again(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"]))["id"]
    drain(api)
    answer = api.post(f"/flows/{flow}/audience", json={"add": {"people": ["ana"]}})
    assert answer.status_code == 200, answer.text
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == 2


def test_another_accounts_joiners_stay_in_their_account(api: Api, other_api: Api) -> None:
    mine = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"]))["id"]
    drain(api)
    theirs = person(other_api, "ana", tags=["a"])
    drain(api, "PT1M")
    assert [m["person"] for m in messages(api, flow)] == [mine]
    assert other_api.get("/sandbox/messages").json()["items"] == []
    assert theirs != mine


def test_a_source_removed_and_added_back_lets_its_members_in_again(api: Api) -> None:
    pid = person(api, "ana", tags=["a", "b"])
    flow = launched(api, audience(api, tags=["a", "b"]))["id"]
    drain(api)
    for change_ in ({"remove": {"tags": ["b"]}}, {"add": {"tags": ["b"]}}):
        answer = api.post(f"/flows/{flow}/audience", json=change_)
        assert answer.status_code == 200, answer.text
        drain(api, "PT1M")
    drain(api, "P1D")
    assert sent_to(api, flow, pid) == 2


def test_who_joins_while_the_flow_is_paused_enters_at_resume(api: Api) -> None:
    pid = person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a", "b"]))["id"]
    drain(api)
    assert api.post(f"/flows/{flow}/pause").status_code == 200
    change(api, pid, tags=["a", "b"])
    drain(api, "PT1M")
    assert sent_to(api, flow, pid) == 1
    assert api.post(f"/flows/{flow}/resume").status_code == 200
    drain(api, "PT1M")
    assert sent_to(api, flow, pid) == 2


def test_a_canceled_flow_keeps_no_members(api: Api, system: Tidings) -> None:
    person(api, "ana", tags=["a"])
    flow = launched(api, audience(api, tags=["a"]))["id"]
    drain(api)

    def members() -> int:
        with system.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        audience_members.c.account_id == api.account_id,
                        audience_members.c.flow_id == flow,
                    )
                ).scalar_one()
            )

    assert members() == 1
    assert api.post(f"/flows/{flow}/cancel").status_code == 200
    assert members() == 0
