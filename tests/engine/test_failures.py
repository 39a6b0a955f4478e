"""One bad flow never stalls the others (DESIGN.md; issue #13).

A handler made faulty for one flow only (tests/support/faults.py) raises while that
flow's people are worked on, on every path the engine has: set-based audience entries,
event entries, timers and awaited events, and the general path (a store built with
`uniform_paths=False`), and while a version is compiled. In the same rounds another
account's flow, triggered alike, moves as if nothing happened; the bad version turns
`failed` with the reason in `GET /flows/{id}` and its history, and its people are held
where they were. Both databases.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, Api, new_account
from tests.engine.test_journeys import drain, event, messages, person
from tests.support import faults
from tests.support.postgres import create_database
from tidings.bootstrap import Tidings, build
from tidings.clock import VirtualClock
from tidings.config import Settings

_names = itertools.count()


_general: dict[str, Tidings] = {}


def general_system(backend: str, request: pytest.FixtureRequest) -> Tidings:
    """A Tidings whose engine steps every person alone (no set-based paths), one per
    backend for the test process."""
    if backend not in _general:
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="tidings-general-"))
            url = f"sqlite:///{folder / 'tidings.db'}"
        else:
            name = f"general_failures_{next(_names)}_{id(_general)}"
            url = create_database(request.getfixturevalue("postgres_url"), name)
        settings = Settings(
            database_url=url, api_key=ADMIN_KEY, clock="virtual", uniform_paths=False
        )
        _general[backend] = build(settings, clock=VirtualClock())
        request.session.config.add_cleanup(_general[backend].close)
    return _general[backend]


@pytest.fixture(params=["set-based", "general"])
def two(
    request: pytest.FixtureRequest, api: Api, other_api: Api, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Api, Api]]:
    """(bad, good): two accounts of one store, with the faults installed."""
    faults.install(monkeypatch)
    if request.param == "set-based":
        yield api, other_api
        return
    system = general_system(request.getfixturevalue("backend"), request)
    with TestClient(system.app, raise_server_exceptions=False) as client:
        yield new_account(system, client), new_account(system, client)


def audience(first: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"Audience {first}",
        "entry": {"type": "audience", "tags": ["vip"]},
        "elements": list(elements),
    }


def sms(element: str, **more: Any) -> dict[str, Any]:
    return {"id": element, "type": "send_sms", "from": "Shop", "text": "Hi", **more}


def launch(api: Api, doc: dict[str, Any]) -> int:
    for name in ("Ping", "Pong"):
        api.post("/event-definitions", json={"name": name, "properties": {}})
    flow = api.post("/flows", json=doc)
    assert flow.status_code == 201, flow.text
    answer = api.post(f"/flows/{flow.json()['id']}/launch")
    assert answer.status_code == 200, answer.text
    return int(flow.json()["id"])


def crowd(api: Api, count: int = 3) -> list[int]:
    return [person(api, f"p{i}", phones=[f"+38591100{i:04d}"], tags=["vip"]) for i in range(count)]


def assert_failed(api: Api, flow: int, reason: str) -> dict[str, Any]:
    view = api.get(f"/flows/{flow}").json()
    assert view["status"] == "failed", view
    assert view["failure"]["version"] == 1
    assert reason in view["failure"]["reason"]
    assert view["failure"]["at"] is not None
    history = api.get(f"/flows/{flow}/versions").json()
    versions = history["items"] if isinstance(history, dict) else history
    assert versions[0]["status"] == "failed"
    assert reason in versions[0]["failure"]
    return view


def journeys(api: Api, person_id: int) -> list[dict[str, Any]]:
    answer = api.get(f"/people/{person_id}/journeys")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["journeys"]
    return found


def test_audience_entries(two: tuple[Api, Api]) -> None:
    bad, good = two
    crowd(bad)
    crowd(good)
    bad_flow = launch(bad, audience("a", sms("boom")))
    good_flow = launch(good, audience("a", sms("sms1")))
    drain(bad)
    assert_failed(bad, bad_flow, "injected fault in enter at boom")
    assert messages(bad, bad_flow) == []
    assert len(messages(good, good_flow)) == 3


def test_event_entries(two: tuple[Api, Api]) -> None:
    bad, good = two
    doc = {"name": "On ping", "entry": {"type": "event", "event": "Ping"}}
    bad_flow = launch(bad, {**doc, "elements": [sms("boom")]})
    also_bad_account = launch(bad, {**doc, "name": "Fine", "elements": [sms("sms1")]})
    good_flow = launch(good, {**doc, "elements": [sms("sms1")]})
    crowd(bad)
    crowd(good)
    for i in range(3):
        event(bad, "Ping", f"p{i}")
        event(good, "Ping", f"p{i}")
    drain(bad)
    assert_failed(bad, bad_flow, "injected fault in enter at boom")
    assert len(messages(good, good_flow)) == 3
    assert len(messages(bad, also_bad_account)) == 3  # the same account's other flow too
    # Later events reach the good flows as before; the failed one takes nobody.
    event(bad, "Ping", "p0")
    drain(bad, "P2D")
    assert messages(bad, bad_flow) == []


def test_timers(two: tuple[Api, Api]) -> None:
    bad, good = two
    people = crowd(bad)
    crowd(good)
    wait = {"type": "wait", "duration": "PT1H"}
    bad_flow = launch(
        bad,
        audience(
            "t",
            sms("sms1", next="boom-timer"),
            {"id": "boom-timer", **wait, "next": "sms2"},
            sms("sms2"),
        ),
    )
    good_flow = launch(
        good, audience("t", sms("sms1", next="w"), {"id": "w", **wait, "next": "sms2"}, sms("sms2"))
    )
    drain(bad)
    assert len(messages(bad, bad_flow)) == 3  # the first SMS went before the timer came
    drain(bad, "PT2H")
    assert_failed(bad, bad_flow, "injected fault in on_timer at boom-timer")
    assert len(messages(good, good_flow)) == 6
    assert len(messages(bad, bad_flow)) == 3
    # Nothing is lost: each person is held at the wait, not exited.
    for pid in people:
        (journey,) = journeys(bad, pid)
        assert journey["status"] == "held"
        assert journey["element"] == "boom-timer"
        assert journey["exitedAt"] is None
    drain(bad, "P1D")  # held people are due no more: nothing retries or stalls
    assert len(messages(bad, bad_flow)) == 3
    assert api_status(bad, bad_flow) == "failed"


def api_status(api: Api, flow: int) -> str:
    return str(api.get(f"/flows/{flow}").json()["status"])


def test_awaited_events(two: tuple[Api, Api]) -> None:
    bad, good = two
    people = crowd(bad)
    crowd(good)
    awaiting = {"type": "wait_for_event", "event": "Pong", "timeout": "P1D"}
    bad_flow = launch(
        bad, audience("e", {"id": "boom-event", **awaiting, "next": {"event": "s"}}, sms("s"))
    )
    good_flow = launch(
        good, audience("e", {"id": "w", **awaiting, "next": {"event": "s"}}, sms("s"))
    )
    drain(bad)
    for i in range(3):
        event(bad, "Pong", f"p{i}")
        event(good, "Pong", f"p{i}")
    drain(bad)
    assert_failed(bad, bad_flow, "injected fault in on_event at boom-event")
    assert len(messages(good, good_flow)) == 3
    assert messages(bad, bad_flow) == []
    for pid in people:
        (journey,) = journeys(bad, pid)
        assert (journey["status"], journey["element"]) == ("held", "boom-event")


def test_a_version_that_does_not_compile(two: tuple[Api, Api]) -> None:
    bad, good = two
    crowd(bad)
    crowd(good)
    bad_flow = launch(
        bad, audience("c", sms("sms1", next="boom-compile"), {"id": "boom-compile", "type": "exit"})
    )
    good_flow = launch(good, audience("c", sms("sms1")))
    drain(bad)
    assert_failed(bad, bad_flow, "injected fault while compiling")
    assert len(messages(good, good_flow)) == 3
    assert messages(bad, bad_flow) == []


def test_a_failed_version_is_canceled_to_let_its_people_go(two: tuple[Api, Api]) -> None:
    bad, _good = two
    people = crowd(bad, 2)
    bad_flow = launch(bad, audience("x", {"id": "boom-timer", "type": "wait", "duration": "PT1H"}))
    drain(bad, "PT2H")
    assert_failed(bad, bad_flow, "boom-timer")
    canceled = bad.post(f"/flows/{bad_flow}/cancel")
    assert canceled.status_code == 200, canceled.text
    drain(bad)
    for pid in people:
        (journey,) = journeys(bad, pid)
        assert journey["status"] == "exited"
        assert journey["exitReason"] == "canceled"
    # A duplicate takes over: the people enter it.
    copy = bad.post(f"/flows/{bad_flow}/duplicate").json()["id"]
    doc = bad.get(f"/flows/{copy}/document").json()
    doc["elements"] = [sms("sms1")]
    assert bad.put(f"/flows/{copy}/document", json=doc).status_code == 200
    assert bad.post(f"/flows/{copy}/launch").status_code == 200
    drain(bad)
    assert len(messages(bad, copy)) == 2


def test_an_audience_that_can_no_longer_be_read_fails_its_flow_alone(
    api: Api, other_api: Api
) -> None:
    """Not injected: a real-time audience names a segment by name, and the segment is
    renamed while the flow runs."""
    crowd(api)
    crowd(other_api)
    rule = {"tag": "vip"}
    segment = api.post("/segments", json={"name": "VIPs", "rule": rule}).json()
    doc = audience("s", sms("sms1"))
    doc["entry"] = {"type": "audience", "segments": ["VIPs"], "update": "realtime"}
    bad_flow = launch(api, doc)
    good_flow = launch(other_api, audience("s", sms("sms1")))
    drain(api)
    assert len(messages(api, bad_flow)) == 3
    renamed = api.patch(f"/segments/{segment['id']}", json={"name": "Big spenders"})
    assert renamed.status_code == 200, renamed.text
    person(other_api, "late", phones=["+385911009999"], tags=["vip"])
    drain(api, "PT1M")
    assert_failed(api, bad_flow, "segment 'VIPs' does not exist")
    assert len(messages(other_api, good_flow)) == 3
