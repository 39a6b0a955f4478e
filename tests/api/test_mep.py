"""Monthly engaged persons (GET /mep): a person who enters at least one flow in a calendar
month of the account's zone counts once that month, however many flows or entries; other
activity never counts; a parent account sees its sub-accounts' MEP, never their people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import ADMIN_KEY, Api
from tidings.bootstrap import Tidings
from tidings.store import mep


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/clock").json()["now"].replace("Z", "+00:00"))


def _month(value: datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _local_month_start(api: Api, zone: ZoneInfo, ahead: int) -> datetime:
    """The first instant of the local month `ahead` months after the clock's."""
    local = _now(api).astimezone(zone)
    index = local.year * 12 + local.month - 1 + ahead
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


def _go(api: Api, instant: datetime) -> None:
    when = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = api.post("/clock/advance", json={"to": when})
    assert answer.status_code == 200, answer.text


def _drain(api: Api, by: str = "PT0S") -> None:
    assert api.post("/clock/advance", json={"by": by}).status_code == 200


def _launched(api: Api, document: dict[str, Any]) -> int:
    created = api.post("/flows", json=document)
    assert created.status_code == 201, created.text
    flow: int = created.json()["id"]
    launched = api.post(f"/flows/{flow}/launch")
    assert launched.status_code == 200, launched.text
    return flow


def _api_flow(api: Api, name: str) -> int:
    """A Flow API entry whose people leave at once and may enter again."""
    return _launched(
        api,
        {
            "name": name,
            "entry": {"type": "api"},
            "settings": {"reentry": {"enabled": True, "delay": "PT1H"}},
            "elements": [{"id": "tag", "type": "update_profile", "addTags": ["seen"]}],
        },
    )


def _enter(api: Api, flow: int, who: str) -> None:
    answer = api.post(f"/flows/{flow}/participants", json={"person": {"externalId": who}})
    assert answer.status_code == 202, answer.text


def _mep(api: Api, month: str | None = None) -> dict[str, Any]:
    answer = api.get("/mep", params={} if month is None else {"month": month})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_person_counts_once_a_month_however_many_flows_and_entries(api: Api) -> None:
    zone = ZoneInfo("UTC")
    start = _local_month_start(api, zone, 2) + timedelta(days=2, hours=12)
    _go(api, start)
    for name, props in [("Signup", {"plan": "text"}), ("Visited", {})]:
        api.post("/event-definitions", json={"name": name, "properties": props})
    a = _api_flow(api, "A")
    b = _launched(
        api,
        {
            "name": "B",
            "entry": {"type": "event", "event": "Signup", "where": "event.plan == 'pro'"},
            "elements": [{"id": "w", "type": "wait", "duration": "P60D"}],
        },
    )
    for who, tags in [("ana", ["vip"]), ("dan", ["vip"]), ("eve", []), ("fay", [])]:
        assert api.post("/people", json={"externalId": who, "tags": tags}).status_code in (
            200,
            201,
        )
    # ana enters A twice, then B; ben and gus enter B by its event
    _enter(api, a, "ana")
    _drain(api)
    _drain(api, "P1D")
    _enter(api, a, "ana")
    _drain(api)
    signups = [
        {"person": {"externalId": who}, "name": "Signup", "properties": {"plan": "pro"}}
        for who in ("ana", "ben", "gus")
    ]
    # eve only does things outside flows; fay's signup does not meet B's entry condition
    others = [
        {"person": {"externalId": "eve"}, "name": "Visited"},
        {"person": {"externalId": "fay"}, "name": "Signup", "properties": {"plan": "free"}},
    ]
    for events in (signups, others):
        assert api.post("/events", json=events).status_code == 202
        _drain(api)
    assert api.patch("/people/" + _person_id(api, "eve"), json={"firstName": "Eve"}).status_code
    # the vip audience enters at C's launch: ana again, and dan
    c = _launched(
        api,
        {
            "name": "C",
            "entry": {"type": "audience", "tags": ["vip"], "update": "never"},
            "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
            "elements": [{"id": "w", "type": "wait", "duration": "P60D"}],
        },
    )
    _drain(api)
    _drain(api, "P1D")
    _enter(api, a, "ana")
    _drain(api)
    figures = _mep(api)
    assert figures["month"] == _month(start)
    assert figures["total"] == 4  # ana, ben, gus, dan
    assert figures["accounts"] == [
        {"id": api.account_id, "name": api.get("/account").json()["name"], "total": 4}
    ]
    # each person counts for the flow of their first entry of the month
    assert figures["topFlows"] == [
        {"flow": b, "name": "B", "total": 2},
        {"flow": a, "name": "A", "total": 1},
        {"flow": c, "name": "C", "total": 1},
    ]
    assert _mep(api, _month(start)) == figures
    # the month before: nobody
    before = _month(_local_month_start(api, zone, -1))
    assert _mep(api, before) == {
        "month": before,
        "total": 0,
        "accounts": [{"id": api.account_id, "name": figures["accounts"][0]["name"], "total": 0}],
        "topFlows": [],
    }


def _person_id(api: Api, external_id: str) -> str:
    items = api.get("/people", params={"externalId": external_id}).json()["items"]
    assert len(items) == 1
    return str(items[0]["id"])


def test_the_month_is_the_accounts_calendar_month(system: Tidings, api: Api) -> None:
    """Auckland is 12 or 13 hours ahead of UTC: 00:30 on the 1st there is still the last
    day of the month before in UTC, yet it counts for the new month."""
    zone = ZoneInfo("Pacific/Auckland")
    assert api.patch("/account", json={"timezone": zone.key}).status_code == 200
    boundary = _local_month_start(api, zone, 2)
    flow = _api_flow(api, "Boundary")
    _go(api, boundary - timedelta(minutes=30))  # 23:30 local on the month's last day
    _enter(api, flow, "late")
    _drain(api)
    _go(api, boundary + timedelta(minutes=30))  # 00:30 local on the 1st
    assert (boundary + timedelta(minutes=30)).astimezone(UTC).month != boundary.month
    _enter(api, flow, "early")
    _enter(api, flow, "late")
    _drain(api)
    old, new = _month(boundary - timedelta(days=1)), _month(boundary)
    assert _mep(api)["month"] == new  # the current month is the account's
    assert _mep(api, old)["total"] == 1
    assert _mep(api, new)["total"] == 2
    assert _mep(api, new)["topFlows"] == [{"flow": flow, "name": "Boundary", "total": 2}]
    # the report's rows: each person once, at their first entry, billed at the month's start
    with system.db.read() as conn:
        rows = list(mep.report_rows(conn, [api.account_id], int(new.replace("-", ""))))
    assert mep.REPORT_COLUMNS == (
        "Person ID",
        "Engaged At",
        "Billed At",
        "Campaign ID",
        "Campaign Name",
    )
    start = boundary.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entered = (boundary + timedelta(minutes=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sorted(rows) == [
        ("early", entered, start, flow, "Boundary"),
        ("late", entered, start, flow, "Boundary"),
    ]
    # a person deleted since stays engaged (billed), named by their id in the report
    late = _person_id(api, "late")
    assert api.delete(f"/people/{late}").status_code == 204
    assert _mep(api, new)["total"] == 2
    with system.db.read() as conn:
        rows = list(mep.report_rows(conn, [api.account_id], int(new.replace("-", ""))))
    assert sorted(rows) == [
        (late, entered, start, flow, "Boundary"),
        ("early", entered, start, flow, "Boundary"),
    ]


def test_a_parent_sees_its_sub_accounts_mep_but_not_their_people_or_flows(
    api: Api, http: Any
) -> None:
    parent = Api(http, ADMIN_KEY, 1)
    created = parent.post("/accounts", json={"name": "Sub shop", "timezone": "UTC"})
    assert created.status_code == 201, created.text
    assert created.json()["parent"] == 1
    sub = Api(http, created.json()["apiKey"], created.json()["id"])
    start = _local_month_start(api, ZoneInfo("UTC"), 1) + timedelta(days=1)
    _go(api, start)
    flow = _api_flow(sub, "Sub welcome")
    for who in ("s1", "s2", "s3"):
        _enter(sub, flow, who)
    _drain(sub)
    seen = _mep(parent)
    assert seen["month"] == _month(start)
    mine = [a for a in seen["accounts"] if a["id"] == sub.account_id]
    assert mine == [{"id": sub.account_id, "name": "Sub shop", "total": 3}]
    assert seen["accounts"][0]["id"] == 1  # the account itself first
    assert seen["total"] == sum(a["total"] for a in seen["accounts"])
    assert {"flow": flow, "name": "Sub welcome", "total": 3} in seen["topFlows"]
    # the sub-account sees itself only
    own = _mep(sub)
    assert own["accounts"] == [{"id": sub.account_id, "name": "Sub shop", "total": 3}]
    assert own["total"] == 3
    # the parent cannot read the sub-account's people or flows
    person = _person_id(sub, "s1")
    assert parent.get(f"/people/{person}").status_code == 404
    listed = parent.get("/people", params={"externalId": "s1"}).json()["items"]
    assert person not in [str(p["id"]) for p in listed]
    assert parent.get(f"/flows/{flow}").status_code == 404
    assert parent.get(f"/flows/{flow}/performance").status_code == 404
    assert (
        parent.post(f"/flows/{flow}/participants", json={"person": {"externalId": "x"}}).status_code
        == 404
    )
    # nor does an unrelated account see the sub-account in its MEP
    assert [a["id"] for a in _mep(api)["accounts"]] == [api.account_id]


def test_only_the_last_three_months_can_be_asked_for(api: Api) -> None:
    zone = ZoneInfo("America/New_York")
    api.patch("/account", json={"timezone": zone.key})
    current = _local_month_start(api, zone, 0)
    assert _mep(api)["month"] == _month(current)
    for back in (0, 1, 2):
        month = _month(_local_month_start(api, zone, -back))
        assert _mep(api, month)["month"] == month
    for month in [
        _month(_local_month_start(api, zone, -3)),
        _month(_local_month_start(api, zone, 1)),
        "2026-13",
        "2026-00",
        "2026-1",
        "November",
        "",
        "2026-11-01",
        "x" * 17,
    ]:
        answer = api.get("/mep", params={"month": month})
        assert answer.status_code == 422, (month, answer.text)
        assert answer.json()["error"]["details"][0]["field"] == "month"


def test_mep_needs_an_admin_key(api: Api) -> None:
    key = api.post("/keys", json={"name": "app"}).json()["key"]
    answer = Api(api.client, key, api.account_id).get("/mep")
    assert answer.status_code == 403
    assert api.client.get("/api/v1/mep").status_code == 401


def test_an_account_without_entries_has_no_engaged_persons(api: Api) -> None:
    figures = _mep(api)
    assert figures["total"] == 0
    assert figures["topFlows"] == []
