"""The per-person trace, `GET /people/{id}/journeys`: flows, elements passed with times,
the reason for each decision, refused entries with their rule, and the retention; and how
it is stored (lines that several rows have, once)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event as sa_event

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, event, person
from tidings.bootstrap import Tidings
from tidings.store import traces


def flow_doc(**settings: Any) -> dict[str, Any]:
    return {
        "name": "Cart rescue",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"reentry": {"enabled": False}, **settings},
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [{"name": "big", "when": "event.cartValue > 50"}],
                "next": {"big": "sms1", "otherwise": "end"},
            },
            {"id": "sms1", "type": "send_sms", "from": "ShopCo", "text": "Hi", "next": "w"},
            {"id": "w", "type": "wait", "duration": "P1D", "next": "end"},
            {"id": "end", "type": "exit"},
        ],
    }


def now(api: Api) -> str:
    return str(api.get("/clock").json()["now"])


def journeys(api: Api, pid: int) -> dict[str, Any]:
    answer = api.get(f"/people/{pid}/journeys")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_the_trace_names_each_element_passed_and_why(api: Api) -> None:
    flow = launched(api, flow_doc())["id"]
    pid = person(api)
    start = now(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)

    found = journeys(api, pid)["journeys"]
    assert [(j["flow"], j["flowName"], j["status"], j["element"]) for j in found] == [
        (flow, "Cart rescue", "waiting", "w")
    ]
    steps = found[0]["steps"]
    elements = [s["element"] for s in steps]
    assert elements[0] is None
    assert steps[0]["what"] == "entered"
    branch = next(s for s in steps if s["what"] == "branch")
    assert "big" in branch["why"]
    assert "event.cartValue > 50" in branch["why"]
    assert "sms1" in elements
    assert "w" in elements
    assert all(s["at"] == start for s in steps)
    assert steps[-1]["what"] == "wait"
    assert steps[-1]["why"].startswith("until ")

    drain(api, "P1D")
    after = journeys(api, pid)["journeys"][0]
    assert after["status"] == "exited"
    assert after["exitedAt"] == now(api)
    assert after["exitedAt"] != start
    assert after["steps"][-1]["at"] == now(api)
    assert len(after["steps"]) > len(steps)


def test_a_refused_entry_is_traced_with_its_rule(api: Api) -> None:
    flow = launched(api, flow_doc())["id"]
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    second = now(api)
    event(api, "CartAbandoned", cartValue=90)  # re-entry is off, and the person is inside
    drain(api)

    refused = journeys(api, pid)["refusedEntries"]
    assert len(refused) == 1
    assert refused[0]["flow"] == flow
    assert refused[0]["reason"] == "alreadyInFlow"
    assert refused[0]["at"] == second


def test_the_trace_is_kept_for_the_retention_only(api: Api) -> None:
    launched(api, flow_doc())
    pid = person(api)
    event(api, "CartAbandoned", cartValue=10)  # otherwise: exits at once
    drain(api)
    assert journeys(api, pid)["journeys"][0]["steps"]

    drain(api, "P31D")  # the default retention is 30 days

    kept = journeys(api, pid)["journeys"]
    assert kept[0]["status"] == "exited"  # the journey itself stays
    assert kept[0]["steps"] == []


def test_journeys_of_an_unknown_or_foreign_person_are_404(api: Api, other_api: Api) -> None:
    pid = person(api)
    assert api.get("/people/99999999/journeys").status_code == 404
    assert other_api.get(f"/people/{pid}/journeys").status_code == 404
    bad = api.get("/people/abc/journeys")
    assert bad.status_code == 422
    assert "person" in bad.text.lower() or "person_id" in bad.text


# --- storage: a detail many rows have is kept once (store/traces.py) ---------------------


def waiting_doc() -> dict[str, Any]:
    return {
        "name": "Go then wait",
        "entry": {"type": "event", "event": "Go"},
        "elements": [{"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P1D"}],
    }


def stored(system: Tidings, people: list[int]) -> list[tuple[Any, ...]]:
    """(person, detail_id, inline detail) of the people's trace rows, in order."""
    marks = ", ".join(str(int(p)) for p in people)
    with system.db.read() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT person_id, detail_id, detail FROM journey_steps "
                f"WHERE person_id IN ({marks}) ORDER BY id"
            )
        ]


def details_of(system: Tidings, account_id: int) -> int:
    with system.db.read() as conn:
        found = conn.exec_driver_sql(
            f"SELECT count(*) FROM journey_step_details WHERE account_id = {int(account_id)}"
        ).scalar()
    return int(found or 0)


def test_lines_that_several_rows_have_are_stored_once_and_read_back_alike(
    api: Api, system: Tidings
) -> None:
    """traces.write_steps, as a batch of the general path calls it."""
    for name in ("Go", "Ping"):
        api.post("/event-definitions", json={"name": name, "properties": {}})
    flow = api.post("/flows", json=waiting_doc()).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    names = ("a", "b", "c", "d")
    ids = [person(api, name) for name in names]
    body = [{"person": {"externalId": name}, "name": "Go"} for name in names]
    assert api.post("/events", json=body).status_code == 202
    drain(api)
    with system.db.read() as conn:
        participation = {
            r[0]: r[1]
            for r in conn.exec_driver_sql(
                f"SELECT person_id, id FROM participations WHERE flow_id = {flow}"
            )
        }
        at = conn.exec_driver_sql("SELECT max(entered_at) FROM participations").scalar_one()
    before, known = stored(system, ids), details_of(system, api.account_id)
    lines = [["w", "event", "Ping"], [None, "exited"]]

    def steps(people: list[int], detail: Any, when: int) -> None:
        rows = [
            (api.account_id, pid, flow, 1, participation[pid], "w", "steps", detail, when)
            for pid in people
        ]
        system.db.write(lambda conn: traces.write_steps(conn, rows))

    steps(ids[:2], orjson.dumps(lines).decode(), at + 1)  # two rows: shared
    steps(ids[2:3], orjson.dumps(lines).decode(), at + 2)  # alone, already stored: shared
    steps(ids[3:], orjson.dumps(lines[:1]).decode(), at + 3)  # alone, new: on its row
    rows = stored(system, ids)[len(before) :]
    assert len(rows) == 4
    assert rows[0][1] == rows[1][1] == rows[2][1] is not None  # one shared detail
    assert all(r[2] is None for r in rows[:3])
    assert rows[3][1] is None  # kept on its row
    assert rows[3][2] is not None
    assert details_of(system, api.account_id) == known + 1

    answers = [journeys(api, pid)["journeys"][0]["steps"] for pid in ids]
    assert answers[0] == answers[1]
    assert [s["what"] for s in answers[0]] == [
        "entered",
        "entered",
        "waiting for",
        "event",
        "exited",
    ]
    assert answers[2][-2:] == [{**s, "at": answers[2][-1]["at"]} for s in answers[0][-2:]]
    assert answers[2][-1]["at"] != answers[0][-1]["at"]
    assert [s["what"] for s in answers[3]] == ["entered", "entered", "waiting for", "event"]


def test_a_set_based_entry_is_traced_on_its_participation_until_the_retention(
    api: Api, system: Tidings
) -> None:
    """An audience launch enters set-based (engine/uniform.py): the lines are one shared
    detail that each participation names, no trace row; read first, at entered_at."""
    api.post("/event-definitions", json={"name": "Ping", "properties": {}})
    ids = [person(api, name, tags=["vip"]) for name in ("a", "b", "c")]
    doc = {
        "name": "Launch then wait",
        "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": [{"id": "w", "type": "wait_for_event", "event": "Ping", "timeout": "P2D"}],
    }
    flow = api.post("/flows", json=doc).json()["id"]
    start = now(api)
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    drain(api)
    with system.db.read() as conn:
        entries = {
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT entry_detail FROM participations WHERE flow_id = {flow}"
            )
        }
    assert stored(system, ids) == []
    assert len(entries) == 1
    assert None not in entries
    assert details_of(system, api.account_id) == 1
    answers = [journeys(api, pid)["journeys"][0] for pid in ids]
    assert all(a["steps"] == answers[0]["steps"] for a in answers)
    assert [s["what"] for s in answers[0]["steps"]] == ["entered", "entered", "waiting for"]
    assert {s["at"] for s in answers[0]["steps"]} == {start, answers[0]["enteredAt"]}

    drain(api, "P3D")  # they time out: a trace row each, after the entry's lines
    steps = journeys(api, ids[0])["journeys"][0]["steps"]
    assert steps[:3] == answers[0]["steps"]
    timeout = steps[3:]
    assert timeout
    assert timeout[-1]["what"] == "exited"
    with system.db.read() as conn:
        timed_out = conn.exec_driver_sql("SELECT max(at) FROM journey_steps").scalar_one()
    # the retention takes the launch's day, not the day of the timeout
    system.db.write(lambda conn: traces.prune(conn, timed_out // traces.DAY * traces.DAY))
    assert details_of(system, api.account_id) == 1  # the timeout's
    assert journeys(api, ids[0])["journeys"][0]["steps"] == timeout


def test_the_retention_prunes_shared_details_with_their_rows(api: Api, system: Tidings) -> None:
    for name in ("Go", "Ping"):
        api.post("/event-definitions", json={"name": name, "properties": {}})
    flow = api.post("/flows", json=waiting_doc()).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    ids = [person(api, name) for name in ("a", "b")]
    body = [{"person": {"externalId": name}, "name": "Go"} for name in ("a", "b")]
    assert api.post("/events", json=body).status_code == 202
    drain(api)
    assert details_of(system, api.account_id) == 1

    drain(api, "P32D")  # the default retention is 30 days; they timed out after one

    assert details_of(system, api.account_id) == 0
    assert stored(system, ids) == []
    assert all(journeys(api, pid)["journeys"][0]["steps"] == [] for pid in ids)


def test_the_journeys_answer_reads_no_whole_table(api: Api, system: Tidings) -> None:
    """A person's journeys are found through indexes (participations had no index that
    leads with the person: the answer read every participation of every account). On
    PostgreSQL sequential scans are priced out, so a plan shows one only when no index
    serves the query."""
    launched(api, flow_doc())
    pid = person(api)
    event(api, "CartAbandoned", cartValue=80)
    drain(api)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa_event.listen(system.db.engine, "before_cursor_execute", record)
    try:
        assert journeys(api, pid)["journeys"][0]["steps"]
    finally:
        sa_event.remove(system.db.engine, "before_cursor_execute", record)
    assert len(seen) >= 3
    with system.db.read() as conn:
        if system.db.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plans = [
                str(row[0])
                for statement, parameters in seen
                for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            ]
            scans = [p for p in plans if "Seq Scan" in p]
        else:
            plans = [
                str(row[-1])
                for statement, parameters in seen
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            ]
            scans = [p for p in plans if p.startswith("SCAN") and "CONSTANT ROW" not in p]
    assert scans == [], plans
