"""Set-based moves (engine/uniform.py) give every person what a step of their own gives.

The same journeys run twice on fresh stores, once with the set-based paths and once with
every person stepped alone (`uniform_paths=False`), and everything a user can see or
count is compared: participations, the per-person trace, counters, unique visits, the
performance answers and `GET /people/{id}/journeys`. The journeys mix what can move in
bulk (fixed waits, plain events) with what cannot (a goal reached, a paused version, a
wait with a condition, a second event in one batch, an event that starts a flow).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import BACKENDS, Api
from tests.support.stores import fresh_url, ok
from tidings.bootstrap import build
from tidings.clock import VirtualClock
from tidings.config import Settings
from tidings.store import traces

KEY = "tdk_uniform_test_key_0123456789abcdef"
PEOPLE = 24


def audience(name: str, elements: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}, **settings},
        "elements": elements,
    }


FLOWS: list[dict[str, Any]] = [
    audience(
        "Waits",
        [
            {"id": "w1", "type": "wait", "duration": "P1D", "next": "ping"},
            {
                "id": "ping",
                "type": "wait_for_event",
                "event": "Ping",
                "timeout": "P2D",
                "next": {"event": "w2", "timeout": "bye"},
            },
            {"id": "w2", "type": "wait", "duration": "PT12H"},
            {"id": "bye", "type": "exit"},
        ],
    ),
    audience(
        "Goal",
        [
            {"id": "g1", "type": "wait", "duration": "P1D", "next": "g2"},
            {"id": "g2", "type": "wait_for_event", "event": "Ping", "timeout": "P1D"},
        ],
        goal={"event": "Purchase", "value": "event.amount"},
    ),
    audience(
        "Paused",
        [{"id": "p1", "type": "wait_for_event", "event": "Ping", "timeout": "P1D"}],
    ),
    audience(
        "Conditional",
        [
            {
                "id": "c1",
                "type": "wait_for_event",
                "event": "Pong",
                "where": "event.n > 5",
                "timeout": "P1D",
                "next": "c2",
            },
            {"id": "c2", "type": "wait", "duration": "PT1H"},
        ],
    ),
    audience(
        "Welcome",
        [
            {"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "ww"},
            {"id": "ww", "type": "wait", "duration": "PT3H"},
        ],
        reentry={"enabled": True},
    ),
    {
        "name": "Late",
        "entry": {"type": "audience", "tags": ["late"], "update": "realtime"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [{"id": "l1", "type": "wait", "duration": "PT2H"}],
    },
    {
        "name": "Api",
        "entry": {"type": "api"},
        "elements": [{"id": "a1", "type": "wait", "duration": "PT2H"}],
    },
    {
        "name": "Signup",
        "entry": {"type": "event", "event": "Signup"},
        "elements": [
            {"id": "s1", "type": "wait", "duration": "PT6H", "next": "s2"},
            {"id": "s2", "type": "wait", "at": "09:00"},
        ],
    },
    # Event entries through deciders (engine/entries.py): a `where` that refuses some, an
    # `assign` and a default, a segment on the event whose branches send, a cap of one.
    {
        "name": "Cart",
        "entry": {
            "type": "event",
            "event": "Cart",
            "where": "event.value > 0",
            "assign": {"cart": "event.value"},
        },
        "settings": {"reentry": {"enabled": True, "limits": [{"max": 1, "per": "P7D"}]}},
        "variables": [
            {"name": "cart", "type": "decimal"},
            {"name": "n", "type": "integer", "default": "2"},
        ],
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [
                    {"name": "big", "when": "event.value > 50"},
                    {"name": "ana", "when": "person.firstName == 'Ana'"},
                    {"name": "u3", "when": "person.externalId == 'u3' or person.id < 0"},
                ],
                "next": {"big": "big", "ana": "small", "u3": "small", "otherwise": "small"},
            },
            {
                "id": "big",
                "type": "send_sms",
                "from": "Shop",
                "text": "{{ cart }} x{{ n }} #{{ person.id }}",
            },
            {"id": "small", "type": "send_sms", "from": "Shop", "text": "Small", "next": "cw"},
            {"id": "cw", "type": "wait", "duration": "PT1H"},
        ],
    },
    {  # the same event enters a second flow, by a split
        "name": "Browse",
        "entry": {"type": "event", "event": "Cart"},
        "elements": [
            {
                "id": "sp",
                "type": "split",
                "branches": [{"name": "a", "percent": 50}, {"name": "b", "percent": 50}],
                "next": {"a": "bw"},
            },
            {"id": "bw", "type": "wait", "duration": "PT1H"},
        ],
    },
    {  # someone who waits for the entry event: the event reaches them (the general path)
        "name": "Watch",
        "entry": {"type": "audience", "tags": ["watch"], "update": "realtime"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [{"id": "wc", "type": "wait_for_event", "event": "Cart", "timeout": "P1D"}],
    },
    {  # inbound messages enter on their channel, number and keyword; evaluate_inbound
        # reads each person's own message
        "name": "Inbound",
        "entry": {
            "type": "inbound",
            "channel": "sms",
            "number": "385990000001",
            "keyword": "join",
            "assign": {"said": "event.text"},
        },
        "variables": [{"name": "said", "type": "text"}, {"name": "who", "type": "text"}],
        "elements": [
            {
                "id": "ev",
                "type": "evaluate_inbound",
                "branches": [{"name": "code", "regex": "\\d+"}],
                "assign": {"sender": "who"},
                "next": {"code": "iw"},
            },
            {"id": "iw", "type": "wait", "duration": "PT1H"},
        ],
    },
    {  # every message to a number, into a fixed wait
        "name": "Inbox",
        "entry": {"type": "inbound", "channel": "sms", "number": "+385990000002"},
        "elements": [{"id": "ib", "type": "wait", "duration": "PT2H"}],
    },
]


def run(url: str, uniform: bool) -> dict[str, Any]:
    system = build(
        Settings(database_url=url, api_key=KEY, clock="virtual", uniform_paths=uniform),
        clock=VirtualClock(),
    )
    try:
        with TestClient(system.app, raise_server_exceptions=False) as client:
            api = Api(client, KEY, 1)
            found = _journeys(api) | {"tables": _tables(system)}
            found["pruned"] = _pruned(api, system)
            engine = system.runner.engine
            return found | {"inBulk": engine.moved_in_bulk, "inStore": engine.composed_by_store}
    finally:
        system.close()


def _journeys(api: Api) -> dict[str, Any]:
    for name, props in [
        ("Ping", {}),
        ("Pong", {"n": "integer"}),
        ("Purchase", {"amount": "decimal"}),
        ("Signup", {}),
        ("Cart", {"value": "decimal"}),
    ]:
        ok(api.post("/event-definitions", json={"name": name, "properties": props}))
    people = [
        ok(
            api.post(
                "/people",
                json={
                    "externalId": f"u{i}",
                    "tags": ["vip"],
                    **({"timezone": "Pacific/Auckland"} if i % 3 == 0 else {}),
                    **({"phones": [f"+3859100000{i:02d}"]} if i % 5 else {}),
                    **({"firstName": "Ana"} if i % 4 == 1 else {}),
                    **({"lastName": "Ćosić" if i % 2 else "Horvat"} if i % 3 else {}),
                    **({"city": "Zagreb"} if i % 3 == 1 else {}),
                },
            )
        )["id"]
        for i in range(PEOPLE)
    ]
    people.append(
        ok(api.post("/people", json={"externalId": "first", "tags": ["late", "watch"]}))["id"]
    )
    flows = [ok(api.post("/flows", json=doc))["id"] for doc in FLOWS]
    for flow in flows:
        ok(api.post(f"/flows/{flow}/launch"))
    ok(api.post(f"/flows/{flows[2]}/pause"))

    def events(name: str, who: range, **props: Any) -> None:
        body = [{"person": {"externalId": f"u{i}"}, "name": name, "properties": props} for i in who]
        assert api.post("/events", json=body).status_code == 202

    def advance(by: str) -> None:
        ok(api.post("/clock/advance", json={"by": by}))

    events("Signup", range(0, PEOPLE, 2))
    advance("PT1H")
    for i in (1, 2, 1):  # the Flow API: the second time, the person is inside already
        body = {"person": {"externalId": f"u{i}"}, "variables": {}}
        assert api.post(f"/flows/{flows[6]}/participants", json=body).status_code < 300
    for i in range(0, PEOPLE, 4):  # a real-time audience lets them in as they join
        ok(api.patch(f"/people/{people[i]}", json={"tags": ["vip", "late"]}))
    advance("PT4H")
    events("Pong", range(0, 6), n=9)  # the condition holds: the general path
    events("Pong", range(6, 12), n=1)  # it does not: ignored, traced
    advance("P1D")  # fixed waits end for everyone at once
    events("Purchase", range(0, 4), amount=10)  # these reach the Goal flow's goal
    events("Ping", range(0, 16))
    events("Ping", range(0, 3))  # a second event in the same batch
    advance("PT2H")
    ok(api.post(f"/flows/{flows[2]}/resume"))  # overdue timeouts fire
    advance("PT1H")
    events("Ping", range(16, 20))
    advance("PT1H")
    ok(api.patch(f"/people/{people[7]}", json={"tags": ["vip", "watch"]}))
    advance("PT1M")

    def carts(values: list[tuple[int, Any]]) -> None:
        body = [
            {"person": {"externalId": f"u{i}"}, "name": "Cart", "properties": {"value": v}}
            for i, v in values
        ]
        assert api.post("/events", json=body).status_code == 202

    # Values from -10 to 79: the `where` refuses some, the segment sends both ways; u7
    # waits for the event; u0, u5, u10, u15 have no phone; u1's second event comes in the
    # same batch. Only people whose entry sends no message may take the general path
    # before others in a batch: the set-based path numbers its own first, and the
    # sandbox's fates follow the outbox ids.
    carts([(i, i * 13 % 90 - 10) for i in range(20)] + [(1, 60)])
    advance("PT30M")
    # u12-u19 were in: in the flow still (alreadyInFlow) or out (the cap); u20-u23 are new.
    carts([(i, i * 13 % 90 - 10) for i in range(12, 24)])
    advance("PT2H")
    # Inbound messages: to the keyword's number with and without a code, with another
    # first word, to the other number, on another channel.
    for who, to, said, channel in [
        (range(0, 6), "+385990000001", "join 42", "sms"),
        (range(6, 10), "+385990000001", "JOIN now", "sms"),
        (range(10, 14), "+385990000001", "hello", "sms"),
        (range(14, 20), "+385990000002", "hi", "sms"),
        (range(20, 24), "+385990000002", "hi", "whatsapp"),
    ]:
        keyword = said.split()[0].upper()
        sent = {"from": "+385911111111", "to": to, "text": said, "keyword": keyword}
        events("message.received", who, channel=channel, **sent)
    advance("PT30M")
    advance("P3D")
    # Now nobody waits anywhere: the reports of a last message are only kept as events.
    body = {"delivered": 0.8, "seen": 0.5, "clicked": 0.5}
    ok(api.patch("/sandbox/settings", json=body))
    bye = audience("Bye", [{"id": "b", "type": "send_sms", "from": "Shop", "text": "Bye"}])
    flows.append(ok(api.post("/flows", json=bye))["id"])
    ok(api.post(f"/flows/{flows[-1]}/launch"))
    advance("PT1H")
    # Texts the store composes (engine/sql_sends.py): fields with and without a default,
    # a missing one, the same-for-everyone `now`; GSM-7 (parts counted by SQL, two for a
    # long text) or not (a name with Ć: UCS-2, counted by domain/sms); no phone: no entry.
    hello = audience(
        "Hello",
        [
            {
                "id": "h1",
                "type": "send_sms",
                "from": "Shop",
                "text": "Hi {{ person.firstName | default: 'friend' }} {{ person.lastName }} "
                "[{{ person.externalId }}] "
                "(of {{ person.city | default: 'town' }}), {{ now }}",
                "next": "h2",
            },
            {
                "id": "h2",
                "type": "send_sms",
                "from": "Shop",
                "text": "A" * 155 + " {{ person.lastName }}",
            },
        ],
    )
    flows.append(ok(api.post("/flows", json=hello))["id"])
    ok(api.post(f"/flows/{flows[-1]}/launch"))
    advance("PT1H")
    return {
        "performance": [
            ok(api.get(f"/flows/{flow}/performance", params={"version": "all"})) for flow in flows
        ],
        "people": [_without_ids(ok(api.get(f"/people/{pid}/journeys"))) for pid in people],
    }


def _pruned(api: Api, system: Any) -> dict[str, Any]:
    """The journeys answers after the retention took the first day (the launch's day): a
    trace row goes when its `at` is before the cut-off, a shared detail (a set-based
    entry's lines) when its day is; at a day's start the two agree."""
    with system.db.read() as conn:
        first = int(conn.exec_driver_sql("SELECT min(entered_at) FROM participations").scalar())
        people = [r[0] for r in conn.exec_driver_sql("SELECT id FROM people ORDER BY id")]
    cutoff = (first // traces.DAY + 1) * traces.DAY
    system.db.write(lambda conn: traces.prune(conn, cutoff))
    with system.db.read() as conn:
        gone = conn.exec_driver_sql(
            "SELECT count(*) FROM participations p WHERE entry_detail IS NOT NULL AND NOT "
            "EXISTS (SELECT 1 FROM journey_step_details d WHERE d.id = p.entry_detail)"
        ).scalar()
    answers = [_without_ids(ok(api.get(f"/people/{pid}/journeys"))) for pid in people]
    return {"answers": answers, "entry details gone": int(gone or 0)}


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """A journeys answer without participation ids (see the trace query in `_tables`)."""
    for journey in answer["journeys"]:
        journey.pop("participation", None)
    return answer


def _tables(system: Any) -> dict[str, Any]:
    queries = {
        # empty JSON is NULL on either path (the text of NULL is "None")
        "participations": "SELECT flow_id, version, person_id, phase, element, variables, "
        "local, message_events, wake_at, waiting_for, waiting_element, entered_at, exited_at, "
        "exit_reason FROM participations",
        # a row's own detail, or the shared one (store/traces.py); a participation by when
        # it began, not by its id: the set-based path numbers the people it enters before
        # those it leaves to the general path, who may come first in the inbox. A
        # set-based entry has no row: its lines are the participation's entry_detail, at
        # entered_at, which is what a row of the general path's entry holds.
        "steps": "SELECT s.person_id, s.flow_id, s.version, p.entered_at, "
        "coalesce(s.element, d.element), coalesce(s.kind, d.kind), "
        "coalesce(s.detail, d.detail), s.at FROM journey_steps s "
        "LEFT JOIN journey_step_details d ON d.id = s.detail_id "
        "LEFT JOIN participations p ON p.id = s.participation_id "
        "UNION ALL SELECT p.person_id, p.flow_id, p.version, p.entered_at, d.element, d.kind, "
        "d.detail, p.entered_at FROM participations p "
        "JOIN journey_step_details d ON d.id = p.entry_detail",
        "counters": "SELECT flow_id, version, element, name, value FROM flow_counters",
        "visits": "SELECT flow_id, version, element, person_id FROM element_visits",
        "flows": "SELECT id, last_activity_at FROM flows",
        "events": "SELECT person_id, name, properties, time, received_at FROM events",
        "sandbox": 'SELECT id, person_id, "to", sender, parts, status, content '
        "FROM sandbox_messages",
        "inbox": "SELECT count(*) FROM inbox",
        # monthly engaged persons (store/mep.py): each person once a month, first entry
        "engaged": "SELECT account_id, month, person_id, engaged_at, flow_id, version "
        "FROM engaged_people",
        "engaged counts": "SELECT account_id, month, flow_id, engaged FROM engaged_counts",
    }
    found = {  # not compared: how each path stored what the queries above read alike
        "entry rows": "SELECT count(*) FROM journey_steps s JOIN participations p "
        "ON p.id = s.participation_id AND s.at = p.entered_at",
        "entry details": "SELECT count(*) FROM participations WHERE entry_detail IS NOT NULL",
        "empties": "SELECT count(*) FROM participations WHERE variables IS NULL "
        "AND local IS NULL AND message_events IS NULL",
    }
    with system.db.read() as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(text(sql)))
            for name, sql in queries.items()
        } | {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in found.items()}


@pytest.mark.parametrize("store", BACKENDS)
def test_set_based_moves_give_everyone_what_their_own_step_gives(
    store: str, request: pytest.FixtureRequest
) -> None:
    bulk = run(fresh_url(store, request, "uniform"), uniform=True)
    alone = run(fresh_url(store, request, "uniform"), uniform=False)
    counts = ("entry rows", "entry details", "empties")
    for name, rows in alone["tables"].items():
        if name not in counts:
            assert bulk["tables"][name] == rows, name
    assert bulk["performance"] == alone["performance"]
    assert bulk["people"] == alone["people"]
    assert bulk["pruned"]["answers"] == alone["pruned"]["answers"]
    # The set-based entries wrote no trace row, the general path one each; both stored
    # empty JSON as NULL, and the retention took some entries' lines, not all.
    assert alone["tables"]["entry details"] == 0
    assert bulk["tables"]["entry details"] > PEOPLE * 2
    entries = bulk["tables"]["entry rows"] + bulk["tables"]["entry details"]
    assert entries == alone["tables"]["entry rows"]
    assert bulk["tables"]["empties"] == alone["tables"]["empties"] > PEOPLE
    assert bulk["pruned"]["entry details gone"] > PEOPLE
    assert bulk["pruned"]["entry details gone"] < bulk["tables"]["entry details"]
    journeys = [j for answer in alone["pruned"]["answers"] for j in answer["journeys"]]
    assert any(not j["steps"] for j in journeys)
    assert any(j["steps"] and j["steps"][0]["what"] == "entered" for j in journeys)
    # The journeys did move: people timed out, matched, reached the goal, were held.
    steps = "\n".join(str(row) for row in alone["tables"]["steps"])
    for seen in ("event Ping", "timeout", "goal", "event ignored", "Pong: not event.n > 5"):
        assert seen in steps, seen
    for seen in (
        "event.value > 50",
        "person.firstName",
        "no branch matched",
        "bucket",
        "event Cart",
    ):
        assert seen in steps, seen
    for seen in ("matched: regex", "JOIN now"):
        assert seen in steps, seen
    inbound, inbox = (alone["performance"][len(FLOWS) - i]["flow"] for i in (2, 1))
    assert (inbound["profilesInFlow"], inbox["profilesInFlow"]) == (10, 6)
    for seen in ("entryLimit", "alreadyInFlow", "no phone number"):
        assert seen in steps, seen
    assert alone["tables"]["inbox"] == [("0",)]
    assert alone["inBulk"] == 0
    assert len(alone["tables"]["events"]) > PEOPLE  # delivery reports, kept
    assert bulk["inBulk"] > PEOPLE * 2  # fixed waits, timeouts and Pings went in bulk
    # The store composed the launches' texts: Bye's and both of Hello's for everyone with
    # a phone (the alone run composed them all in Python: the sandbox rows above agree).
    with_phone = sum(1 for i in range(PEOPLE) if i % 5)
    assert alone["inStore"] == 0
    assert bulk["inStore"] == 3 * with_phone
    texts = [row for row in alone["tables"]["sandbox"] if "(of " in row[-1]]
    assert {row[4] for row in texts} == {"1"}
    assert len(texts) == with_phone
    longs = {row[4] for row in alone["tables"]["sandbox"] if "AAAA" in row[-1]}
    assert longs == {"1", "2", "3"}  # GSM-7 up to 160 and over, UCS-2 (Ćosić) over 70
