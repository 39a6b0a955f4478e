"""Event entries left in flight across rounds (engine/entries.py `InFlight`).

A round of set-based event entries does not wait for its last parts' commit: the next
round plans the following head meanwhile. It must start past the events in flight and
stop before a person whose entry is still in flight, so that person's next event sees
their participation. Rounds and parts are made tiny here, so a few dozen events take many
rounds with parts in flight between them; the outcome must be what the general path
(every person stepped alone) gives.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BACKENDS, Api
from tests.support.stores import fresh_url, ok
from tidings.bootstrap import build
from tidings.clock import VirtualClock
from tidings.config import Settings
from tidings.engine.bulk import event_entries as entries

KEY = "tdk_in_flight_test_key_0123456789abcd"
PEOPLE = 40
AGAIN = (6, 7)  # people whose second event opens the next round, their first in flight

CART = {
    "name": "Cart",
    "entry": {"type": "event", "event": "Cart", "where": "event.value > 0"},
    "settings": {"reentry": {"enabled": True, "delay": "PT24H"}},  # a second event: refused
    "elements": [
        {
            "id": "seg",
            "type": "segment",
            "branches": [{"name": "big", "when": "event.value > 50"}],
            "next": {"big": "big", "otherwise": "small"},
        },
        {"id": "big", "type": "send_sms", "from": "Shop", "text": "A big cart"},
        {"id": "small", "type": "send_sms", "from": "Shop", "text": "A small cart"},
    ],
}


def run(url: str, uniform: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(entries, "PART", 3)
    system = build(
        Settings(database_url=url, api_key=KEY, clock="virtual", uniform_paths=uniform),
        clock=VirtualClock(),
    )
    engine = system.runner.engine
    engine.batch_size = 2  # a round takes 8 stimuli: parts of 3, 3 and 2
    went_on = []  # rounds taken while parts of the previous one were in flight
    take_more = entries.take_more

    def watched(*args: Any) -> int:
        before = bool(engine.in_flight)
        moved = take_more(*args)
        went_on.append(before and moved > 0)
        return moved

    monkeypatch.setattr(entries, "take_more", watched)
    writer = entries._writer

    def slow(*args: Any) -> Any:  # parts stay in flight while the next round is read
        write = writer(*args)

        def later(conn: Any) -> Any:
            time.sleep(0.05)
            return write(conn)

        return later

    monkeypatch.setattr(entries, "_writer", slow)
    try:
        with TestClient(system.app, raise_server_exceptions=False) as client:
            api = Api(client, KEY, 1)
            ok(
                api.post(
                    "/event-definitions", json={"name": "Cart", "properties": {"value": "decimal"}}
                )
            )
            for i in range(PEOPLE):
                body = {"externalId": f"u{i}", "phones": [f"+38591{i:07d}"]}
                ok(api.post("/people", json=body))
            flow = ok(api.post("/flows", json=CART))["id"]
            ok(api.post(f"/flows/{flow}/launch"))
            carts = [(i, i * 7 % 100 + 1) for i in range(PEOPLE)]
            carts[8:8] = [(i, 99) for i in AGAIN]  # after the first round's 8
            body = [
                {"person": {"externalId": f"u{i}"}, "name": "Cart", "properties": {"value": v}}
                for i, v in carts
            ]
            assert api.post("/events", json=body).status_code == 202
            # The engine's batches back to back, as its thread runs them on the real clock
            # (the virtual clock's runner writes between them, which waits for the parts).
            while engine.run_once(system.clock.now())[0]:
                pass
            ok(api.post("/clock/advance", json={"by": "PT1M"}))
            with system.db.read() as conn:
                sent = conn.exec_driver_sql(
                    "SELECT people.external_id, s.element, s.content FROM sandbox_messages s "
                    "JOIN people ON people.id = s.person_id"
                ).all()
                left = conn.exec_driver_sql("SELECT count(*) FROM inbox").scalar_one()
            performance = ok(api.get(f"/flows/{flow}/performance", params={"version": "all"}))
            return {
                "sent": sorted(tuple(str(v) for v in row) for row in sent),
                "inbox": left,
                "performance": performance,
                "wentOn": sum(went_on),
                "inBulk": engine.moved_in_bulk,
            }
    finally:
        system.close()


@pytest.mark.parametrize("store", BACKENDS)
def test_entries_in_flight_across_rounds_give_what_steps_alone_give(
    store: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = run(fresh_url(store, request, "flight"), True, monkeypatch)
    alone = run(fresh_url(store, request, "flight"), False, monkeypatch)
    assert bulk["inbox"] == alone["inbox"] == 0
    # one message each: a second event never entered anyone twice
    assert len(bulk["sent"]) == PEOPLE
    assert len({row[0] for row in bulk["sent"]}) == PEOPLE
    assert bulk["sent"] == alone["sent"]
    assert bulk["performance"] == alone["performance"]
    refused = bulk["performance"]["flow"]["refusedEntries"]
    assert refused == {"reentryDelay": len(AGAIN)}
    # the set-based path did the entries, with rounds begun while parts were in flight
    assert bulk["inBulk"] >= PEOPLE
    assert bulk["wentOn"] >= 3
    assert alone["inBulk"] == 0
