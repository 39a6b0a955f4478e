"""An audience launch queues its members in bundles (store/audience.py): a row stands for
up to BUNDLE_SIZE people, and whoever takes some of them (the set-based entries, the
general path, a batch that ends inside a bundle) takes them out of it. Every member
still enters once, gets one message, and is counted once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person
from tests.engine.test_reports import launch
from tidings.bootstrap import Tidings
from tidings.store import audience


def hello(tag: str, update: str = "never") -> dict[str, Any]:
    return {
        "name": f"Hello {tag}",
        "entry": {"type": "audience", "tags": [tag], "update": update},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [
            {"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}
        ],
    }


def queued(system: Tidings, flow: int) -> list[tuple[int, int, list[int]]]:
    """The flow's queued entry rows: (partition, person_id, the people of a bundle)."""
    with system.db.read() as conn:
        rows = conn.execute(
            text("SELECT partition, person_id, payload FROM inbox WHERE flow_id = :f ORDER BY id"),
            {"f": flow},
        ).all()
    out = []
    for partition, first, payload in rows:
        data = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        out.append((int(partition), int(first), [int(p) for p in data.get("people", [first])]))
    return out


@pytest.fixture
def small_bundles(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(audience, "BUNDLE_SIZE", 3)
    return 3


def paused_launch(api: Api, doc: dict[str, Any]) -> int:
    """Launch and pause at once: the entries stay queued until resume."""
    flow = launch(api, doc)
    assert api.post(f"/flows/{flow}/pause").status_code == 200
    return flow


def test_a_launch_queues_bundles_and_everyone_enters_once(
    api: Api, system: Tidings, small_bundles: int, backend: str
) -> None:
    tag = f"b{id(api)}"
    members = [person(api, f"m{i}-{tag}", tags=[tag]) for i in range(8)]
    flow = paused_launch(api, hello(tag))
    rows = queued(system, flow)
    bundled = [p for _, _, people in rows for p in people]
    assert sorted(bundled) == sorted(members)  # each member once
    assert all(len(people) <= small_bundles for _, _, people in rows)
    if backend == "postgresql":  # engines lease partitions: a bundle is of one
        partitions = system.settings.partitions
        assert all(p % partitions == part for part, _, people in rows for p in people)
    else:  # one engine holds every partition: neighbours share a bundle
        assert len(rows) == -(-len(members) // small_bundles)
    assert all(first == people[0] for _, first, people in rows)

    assert api.post(f"/flows/{flow}/resume").status_code == 200
    drain(api)
    sent = Counter(m["person"] for m in messages(api, flow))
    assert sent == Counter(members)
    assert perf(api, flow)["flow"]["profilesInFlow"] == len(members)
    assert perf(api, flow)["flow"]["refusedEntries"] == {}
    assert queued(system, flow) == []


def test_people_the_set_based_entry_leaves_are_taken_out_of_their_bundle(
    api: Api, system: Tidings, small_bundles: int
) -> None:
    tag = f"n{id(api)}"
    # without a phone, a person is left to the general path, which traces why nothing
    # was sent; a person deleted since the launch is only taken out of the bundle
    members = [
        person(api, f"p{i}-{tag}", tags=[tag], **({"phones": []} if i % 3 == 1 else {}))
        for i in range(7)
    ]
    flow = paused_launch(api, hello(tag))
    gone = members[4]
    assert api.delete(f"/people/{gone}").status_code == 204
    assert api.post(f"/flows/{flow}/resume").status_code == 200
    drain(api)
    phoned = [m for i, m in enumerate(members) if i % 3 != 1 and m != gone]
    assert Counter(m["person"] for m in messages(api, flow)) == Counter(phoned)
    assert perf(api, flow)["flow"]["profilesInFlow"] == len(members) - 1
    assert perf(api, flow)["flow"]["profilesExited"] == len(members) - 1
    assert queued(system, flow) == []


def test_a_batch_that_ends_inside_a_bundle_leaves_the_rest_queued(
    api: Api, system: Tidings, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setattr(audience, "BUNDLE_SIZE", 5)
    monkeypatch.setattr(system.runner.engine, "batch_size", 2)
    monkeypatch.setattr(system.runner.engine, "uniform_paths", False)  # the general path
    tag = f"g{id(api)}"
    members = [person(api, f"g{i}-{tag}", tags=[tag]) for i in range(5)]
    flow = paused_launch(api, hello(tag))
    assert api.post(f"/flows/{flow}/resume").status_code == 200
    taken = system.runner.engine.run_once(system.clock.now())[0]
    assert taken == 2
    rows = queued(system, flow)
    assert sorted(p for _, _, people in rows for p in people) == sorted(members)[2:]
    if backend == "sqlite":  # the rest of the one bundle
        assert len(rows) == 1
    drain(api)
    assert Counter(m["person"] for m in messages(api, flow)) == Counter(members)
    assert queued(system, flow) == []


def test_a_realtime_refresh_does_not_queue_people_already_in_a_bundle(
    api: Api, system: Tidings, small_bundles: int
) -> None:
    tag = f"r{id(api)}"
    members = [person(api, f"r{i}-{tag}", tags=[tag]) for i in range(5)]
    flow = paused_launch(api, hello(tag, update="realtime"))
    assert api.post(f"/flows/{flow}/resume").status_code == 200
    late = person(api, f"late-{tag}", tags=[tag])
    # the refresh runs before the queued entries are taken: it adds only the newcomer
    assert sorted(p for _, _, people in queued(system, flow) for p in people) == sorted(members)
    drain(api)
    assert Counter(m["person"] for m in messages(api, flow)) == Counter([*members, late])
    assert perf(api, flow)["flow"]["refusedEntries"] == {}
