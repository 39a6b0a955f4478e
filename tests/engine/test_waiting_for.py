"""A parked person's row does not repeat the event its wait_for_event names.

`participations.waiting_for` is NULL while the person waits for the event of the element
they wait at (engine/programs.py); the engine reads it back from the program, so the event
still reaches them, on the set-based paths and on the general one, and the timeout still
comes. Rows written before, which name the event, work the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BACKENDS, Api
from tests.support.stores import fresh_url, ok
from tidings.bootstrap import Tidings, build
from tidings.clock import VirtualClock
from tidings.config import Settings
from tidings.store.tables import EXITED, WAITING

KEY = "tdk_waiting_for_test_key_0123456789abc"
PEOPLE = 8

PARKED = {
    "name": "Parked",
    "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
    "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
    "elements": [
        {
            "id": "w",
            "type": "wait_for_event",
            "event": "Ping",
            "timeout": "P1D",
            "next": {"event": "hit", "timeout": "miss"},
        },
        {"id": "hit", "type": "wait", "duration": "PT1H"},
        {"id": "miss", "type": "wait", "duration": "PT1H"},
    ],
}
# Someone who waits for the event another flow enters on: the event reaches them too.
WATCH = {
    "name": "Watch",
    "entry": {"type": "audience", "tags": ["watch"], "update": "never"},
    "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
    "elements": [
        {
            "id": "wc",
            "type": "wait_for_event",
            "event": "Cart",
            "timeout": "P1D",
            "next": {"event": "seen"},
        },
        {"id": "seen", "type": "wait", "duration": "PT1H"},
    ],
}
CART = {
    "name": "Cart",
    "entry": {"type": "event", "event": "Cart"},
    "elements": [{"id": "cw", "type": "wait", "duration": "PT1H"}],
}


def _rows(system: Tidings, sql: str) -> list[tuple[Any, ...]]:
    with system.db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def _where(system: Tidings, flow: int) -> dict[str, tuple[Any, ...]]:
    """externalId -> (phase code, element, waiting_for) of the person's row in `flow`."""
    rows = _rows(
        system,
        "SELECT people.external_id, p.phase, p.element, p.waiting_for FROM participations p "
        f"JOIN people ON people.id = p.person_id WHERE p.flow_id = {int(flow)}",
    )
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("uniform", [True, False], ids=["set-based", "alone"])
@pytest.mark.parametrize("store", BACKENDS)
def test_a_parked_person_keeps_no_event_name_and_still_wakes_on_the_event_and_the_timeout(
    store: str, uniform: bool, request: pytest.FixtureRequest
) -> None:
    system = build(
        Settings(
            database_url=fresh_url(store, request, "waiting"),
            api_key=KEY,
            clock="virtual",
            uniform_paths=uniform,
        ),
        clock=VirtualClock(),
    )
    try:
        with TestClient(system.app, raise_server_exceptions=False) as client:
            api = Api(client, KEY, 1)
            _journeys(api, system)
    finally:
        system.close()


def _journeys(api: Api, system: Tidings) -> None:
    for name in ("Ping", "Cart"):
        ok(api.post("/event-definitions", json={"name": name}))
    for i in range(PEOPLE):
        tags = ["vip", "watch"] if i == 0 else ["vip"]
        ok(api.post("/people", json={"externalId": f"u{i}", "tags": tags}))
    parked, watch, cart = (ok(api.post("/flows", json=doc))["id"] for doc in (PARKED, WATCH, CART))
    for flow in (parked, watch, cart):
        ok(api.post(f"/flows/{flow}/launch"))

    def advance(by: str) -> None:
        ok(api.post("/clock/advance", json={"by": by}))

    def events(name: str, who: list[int]) -> None:
        body = [{"person": {"externalId": f"u{i}"}, "name": name} for i in who]
        assert api.post("/events", json=body).status_code == 202

    advance("PT0S")
    # Everybody waits, and no row names the event: the element does.
    assert set(_where(system, parked).values()) == {(WAITING, "w", None)}
    assert _where(system, watch) == {"u0": (WAITING, "wc", None)}
    # Rows written before this store kept the name: they read the same.
    with system.db.read() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM people ORDER BY id")]
    old = ", ".join(str(i) for i in ids[1::2])
    system.db.write(
        lambda conn: conn.exec_driver_sql(
            f"UPDATE participations SET waiting_for = 'Ping' WHERE person_id IN ({old}) "
            f"AND flow_id = {int(parked)}"
        )
    )
    events("Ping", [0, 1, 2, 3])
    events("Cart", [0, 1])  # u0 waits for it in Watch; both enter Cart
    advance("PT1M")
    where = _where(system, parked)
    assert {k: v[1] for k, v in where.items()} == {
        **{f"u{i}": "hit" for i in range(4)},
        **{f"u{i}": "w" for i in range(4, PEOPLE)},
    }
    assert _where(system, watch) == {"u0": (WAITING, "seen", None)}
    assert set(_where(system, cart)) == {"u0", "u1"}
    advance("P1D")  # the timeout, for those who got no Ping, old rows and new alike
    advance("PT2H")
    where = _where(system, parked)
    # everyone exited after the hour's wait, at the exit added after it
    assert {k: v[1].removeprefix("exit-") for k, v in where.items()} == {
        **{f"u{i}": "hit" for i in range(4)},
        **{f"u{i}": "miss" for i in range(4, PEOPLE)},
    }
    assert {(v[0], v[2]) for v in where.values()} == {(EXITED, None)}
    perf = ok(api.get(f"/flows/{parked}/performance", params={"version": "all"}))
    elements = perf["elements"]
    assert elements["hit"]["uniqueEngagements"] == 4
    assert elements["miss"]["uniqueEngagements"] == PEOPLE - 4
    for pid in ids[:2]:
        journeys = ok(api.get(f"/people/{pid}/journeys"))["journeys"]
        lines = [s for j in journeys if j["flow"] == parked for s in j["steps"]]
        assert any(s.get("why") == "event Ping" for s in lines), lines
