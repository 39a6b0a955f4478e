"""Flow performance in full (issue #17): per-channel figures against the message events
that exist, people counted once, and the flow figures over time in the flow's zone;
through the public API on the virtual clock, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import event, messages, person
from tests.engine.timing import advance_by, advance_to, clock

PHONES = [f"+38591100{n:04d}" for n in range(1, 40)]


def two_channels(api: Api, timezone: str | None = None, **settings: Any) -> int:
    """Enters on CartAbandoned: an SMS, a day's wait, an email; re-entry allowed."""
    doc: dict[str, Any] = {
        "name": "Two channels",
        "entry": {"type": "event", "event": "CartAbandoned"},
        "settings": {"reentry": {"enabled": True}, **settings},
        "elements": [
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "wait"},
            {"id": "wait", "type": "wait", "duration": "P1D", "next": "mail"},
            {
                "id": "mail",
                "type": "send_email",
                "from": "shop@example.com",
                "subject": "Still there?",
                "html": "<p>Your cart</p>",
            },
        ],
    }
    if timezone:
        doc["timezone"] = timezone
    return int(launched(api, doc)["id"])


def people(api: Api, count: int) -> list[str]:
    names = [f"p{n}" for n in range(count)]
    for name, phone in zip(names, PHONES, strict=False):
        person(api, name, phones=[phone], emails=[f"{name}@example.com"])
    return names


def performance(api: Api, flow: int, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/flows/{flow}/performance", params=params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def reports_by_channel(api: Api, names: list[str]) -> Counter[tuple[str, str]]:
    """(channel, report) -> how many `message.*` events the people have."""
    found: Counter[tuple[str, str]] = Counter()
    for name in names:
        pid = api.get("/people", params={"externalId": name}).json()["items"][0]["id"]
        items = api.get(f"/people/{pid}/events", params={"limit": 1000}).json()["items"]
        for item in items:
            if item["name"].startswith("message."):
                found[(item["properties"]["channel"], item["name"][8:])] += 1
    return found


def test_each_channels_figures_are_the_reports_that_came(api: Api) -> None:
    shares = {"delivered": 0.6, "seen": 0.5, "clicked": 0.5}
    assert api.patch("/sandbox/settings", json=shares).status_code == 200
    prices = {"sms": {"default": 0.05}, "email": 0.001}
    assert api.patch("/account", json={"prices": prices}).status_code == 200
    flow = two_channels(api)
    names = people(api, 24)
    for name in names:
        event(api, "CartAbandoned", name, cartValue=10)
    advance_by(api, "P2D")
    sent = messages(api, flow)
    found = reports_by_channel(api, names)
    channels = performance(api, flow)["channels"]
    assert set(channels) == {"sms", "email"}
    for channel in ("sms", "email"):
        mine = [m for m in sent if m["channel"] == channel]
        figures = channels[channel]
        assert figures["sent"] == len(mine) == 24
        assert figures["parts"] == sum(m["parts"] for m in mine)
        for report in ("delivered", "failed", "seen", "clicked"):
            assert figures[report] == found[(channel, report)], (channel, report)
        assert figures["delivered"] + figures["failed"] == 24
    # the shares differ from 0 and 1: some of each, or the test would prove little
    assert 0 < channels["sms"]["failed"] < 24
    assert channels["email"]["seen"] > 0
    assert channels["sms"]["cost"] == round(0.05 * channels["sms"]["parts"], 6)
    assert channels["email"]["cost"] == round(0.001 * 24, 6)
    # one version's figures are the same here; an unknown version is a 404
    assert performance(api, flow, version="1")["channels"] == channels
    assert api.get(f"/flows/{flow}/performance", params={"version": "2"}).status_code == 404


def test_people_are_counted_once_over_entries_and_versions(api: Api) -> None:
    assert api.patch("/sandbox/settings", json={"seen": 1.0}).status_code == 200
    flow = two_channels(api, goal={"event": "PurchaseFinished"})
    people(api, 2)
    for _ in range(2):  # p0 enters, engages and converts twice
        event(api, "CartAbandoned", "p0", cartValue=10)
        advance_by(api, "PT1H")
        event(api, "PurchaseFinished", "p0", amount=5)
        advance_by(api, "P2D")
    figures = performance(api, flow)["flow"]
    assert (figures["profilesInFlow"], figures["activeProfiles"]) == (1, 1)
    assert figures["goalPerformers"] == 1
    assert figures["conversionRate"] == 1.0  # both entries met the goal
    elements = performance(api, flow)["elements"]
    assert (elements["sms"]["totalEngagements"], elements["sms"]["uniqueEngagements"]) == (2, 1)
    # a second version: p0 enters it too, p1 enters it alone
    assert api.post(f"/flows/{flow}/versions").status_code == 201
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    for name in ("p0", "p1"):
        event(api, "CartAbandoned", name, cartValue=10)
    advance_by(api, "P2D")
    assert performance(api, flow, version="1")["flow"]["profilesInFlow"] == 1
    assert performance(api, flow, version="2")["flow"]["profilesInFlow"] == 2
    everything = performance(api, flow)
    assert everything["flow"]["profilesInFlow"] == 2  # p0 is one person over both
    # an element's unique engagements over all versions are the sum of the versions'
    assert everything["elements"]["sms"]["uniqueEngagements"] == 3
    assert everything["elements"]["sms"]["totalEngagements"] == 4


def test_the_series_counts_each_hour_and_day_in_the_flows_zone(api: Api) -> None:
    zone = ZoneInfo("America/New_York")
    flow = two_channels(api, timezone="America/New_York")
    people(api, 3)
    now = clock(api)
    local = now.astimezone(zone)
    # 22:30 local (03:30 UTC the next day) and 00:30 local the next day: two local days
    late = datetime(local.year, local.month, local.day, 22, 30, tzinfo=zone) + timedelta(days=1)
    early = late + timedelta(hours=2)
    advance_to(api, late.astimezone(UTC))
    event(api, "CartAbandoned", "p0", cartValue=1)
    event(api, "CartAbandoned", "p1", cartValue=1)
    advance_by(api)
    advance_to(api, early.astimezone(UTC))
    event(api, "CartAbandoned", "p2", cartValue=1)
    advance_by(api, "P2D")
    first = late.date()
    days = performance(
        api, flow, by="day", **{"from": first.isoformat(), "to": str(first + timedelta(days=3))}
    )
    assert days["timezone"] == "America/New_York"
    series = days["series"]
    assert [p["at"] for p in series] == [
        datetime(d.year, d.month, d.day, tzinfo=zone).isoformat()
        for d in (first + timedelta(days=n) for n in range(3))
    ]
    assert [p["profilesInFlow"] for p in series] == [2, 1, 0]
    # each person's SMS at entry, each email a day later
    assert [p["messagesSent"] for p in series] == [2, 3, 1]
    totals = days["flow"]
    for figure in ("profilesInFlow", "messagesSent", "profilesExited"):
        assert sum(p[figure] for p in series) == totals[figure], figure
    start = late.replace(minute=0)  # 22:00 local, for three hours
    hours = performance(
        api,
        flow,
        by="hour",
        **{"from": start.isoformat(), "to": (start + timedelta(hours=3)).isoformat()},
    )["series"]
    assert [p["profilesInFlow"] for p in hours] == [2, 0, 1]
    assert hours[0]["at"] == start.isoformat()


def test_a_series_defaults_to_the_last_days_up_to_now(api: Api) -> None:
    flow = two_channels(api)
    advance_by(api, "PT1H")  # into the day, which then has its point
    days = performance(api, flow, by="day")["series"]
    assert len(days) in (30, 31)  # today's part day included
    today = clock(api).date()
    assert date.fromisoformat(days[-1]["at"][:10]) == today
    assert all(p["profilesInFlow"] == 0 for p in days)


def test_bad_series_requests_are_refused_naming_the_field(api: Api, other_api: Api) -> None:
    flow = two_channels(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"by": "week"}, "by"),
        ({"by": "day", "from": "yesterday"}, "from"),
        ({"by": "day", "to": "2026-13-01"}, "to"),
        ({"by": "day", "from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"by": "hour", "from": "2025-01-01", "to": "2026-01-01"}, "from"),
        ({"from": "2026-03-01"}, "by"),
    ]
    for params, field in cases:
        answer = api.get(f"/flows/{flow}/performance", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert field in answer.text, (params, answer.text)
    assert other_api.get(f"/flows/{flow}/performance", params={"by": "day"}).status_code == 404
