"""Send windows end to end: the recipient's zone or the flow's, weekends, dropping, and an
opening that spring-forward skips; through the public API on the virtual clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import messages, perf
from tests.engine.timing import (
    AUCKLAND,
    NEW_YORK,
    ZAGREB,
    advance_by,
    advance_to,
    at,
    clock,
    next_spring_forward,
    next_weekday,
    sent_at,
)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
PHONES = {
    "zagreb": "+385911000001",
    "ny": "+12125550101",
    "akl": "+6421000001",
    "ana": "+385911234567",
}


def windowed_flow(api: Api, window: dict[str, Any]) -> int:
    doc = {
        "name": "Windowed",
        "timezone": "Europe/Zagreb",
        "entry": {"type": "api"},
        "settings": {"sendWindow": window},
        "elements": [
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi", "next": "tag"},
            {"id": "tag", "type": "update_profile", "addTags": ["reached"]},
        ],
    }
    return int(launched(api, doc)["id"])


def enter(api: Api, flow: int, who: str, timezone: str | None = None) -> int:
    person: dict[str, Any] = {"externalId": who, "firstName": who, "phones": [PHONES[who]]}
    if timezone is not None:
        person["timezone"] = timezone
    answer = api.post(f"/flows/{flow}/participants", json={"person": person})
    assert answer.status_code == 202, answer.text
    return int(answer.json()["person"])


def sent_to(api: Api, flow: int) -> dict[str, Any]:
    return {m["to"]: m for m in messages(api, flow)}


def steps(api: Api, person: int, what: str) -> list[tuple[str, str]]:
    """The person's journey lines of one kind: (element, why)."""
    [journey] = api.get(f"/people/{person}/journeys").json()["journeys"]
    return [(s["element"], s["why"]) for s in journey["steps"] if s["what"] == what]


def tags(api: Api, person: int) -> list[str]:
    found: list[str] = api.get(f"/people/{person}").json()["tags"]
    return found


def test_the_recipients_zone_when_the_profile_has_one_else_the_flows(api: Api) -> None:
    monday = next_weekday(ZAGREB, clock(api), 0)
    advance_to(api, at(ZAGREB, monday, 10))  # 04:00 in New York, 22:00 in Auckland
    flow = windowed_flow(api, {"days": WEEKDAYS, "from": "09:00", "to": "17:00"})
    enter(api, flow, "zagreb")  # no zone of their own: the flow's, open
    enter(api, flow, "ny", "America/New_York")
    enter(api, flow, "akl", "Pacific/Auckland")
    advance_by(api)
    assert set(sent_to(api, flow)) == {PHONES["zagreb"]}
    new_york_nine = at(NEW_YORK, monday, 9)
    advance_to(api, new_york_nine)
    assert sent_at(sent_to(api, flow)[PHONES["ny"]]) == new_york_nine
    assert PHONES["akl"] not in sent_to(api, flow)
    auckland_nine = at(AUCKLAND, monday + timedelta(days=1), 9)  # Tuesday there
    advance_to(api, auckland_nine)
    assert sent_at(sent_to(api, flow)[PHONES["akl"]]) == auckland_nine
    stats = perf(api, flow)
    assert stats["flow"]["messagesSent"] == 3
    assert stats["flow"]["sendsDeferred"] == 2
    assert stats["elements"]["sms"]["sendsDeferred"] == 2
    assert stats["flow"]["sendsDropped"] == 0


def test_the_flows_zone_when_the_window_says_flow(api: Api) -> None:
    monday = next_weekday(ZAGREB, clock(api), 0)
    advance_to(api, at(ZAGREB, monday, 10))
    window = {"days": WEEKDAYS, "from": "09:00", "to": "17:00", "timezone": "flow"}
    flow = windowed_flow(api, window)
    enter(api, flow, "ny", "America/New_York")  # 04:00 at home, but the flow's clock rules
    advance_by(api)
    assert set(sent_to(api, flow)) == {PHONES["ny"]}


def test_a_weekend_entry_waits_for_monday_morning(api: Api) -> None:
    saturday = next_weekday(ZAGREB, clock(api), 5)
    advance_to(api, at(ZAGREB, saturday, 12))
    flow = windowed_flow(api, {"days": WEEKDAYS, "from": "09:00", "to": "20:00"})
    ana = enter(api, flow, "ana", "Europe/Zagreb")
    advance_to(api, at(ZAGREB, saturday + timedelta(days=1), 23, 59))
    assert messages(api, flow) == []
    assert "reached" not in tags(api, ana)
    monday_nine = at(ZAGREB, saturday + timedelta(days=2), 9)
    until = monday_nine.isoformat().replace("+00:00", "Z")
    assert steps(api, ana, "deferred") == [("sms", f"outside the send window: until {until}")]
    advance_to(api, monday_nine + timedelta(minutes=5))
    [sms] = messages(api, flow)
    assert sent_at(sms) == monday_nine
    assert "reached" in tags(api, ana)  # and the journey went on after the send
    assert perf(api, flow)["flow"]["sendsDeferred"] == 1


def test_drop_sends_nothing_outside_and_the_person_goes_on(api: Api) -> None:
    saturday = next_weekday(ZAGREB, clock(api), 5)
    advance_to(api, at(ZAGREB, saturday, 12))
    window = {"days": WEEKDAYS, "from": "09:00", "to": "20:00", "outside": "drop"}
    flow = windowed_flow(api, window)
    ana = enter(api, flow, "ana", "Europe/Zagreb")
    advance_by(api)
    assert "reached" in tags(api, ana)
    assert steps(api, ana, "dropped") == [
        ("sms", "outside the send window (mon,tue,wed,thu,fri 09:00-20:00)")
    ]
    advance_by(api, "P3D")
    assert messages(api, flow) == []
    stats = perf(api, flow)["flow"]
    assert (stats["sendsDropped"], stats["sendsDeferred"], stats["messagesSent"]) == (1, 0, 0)
    assert stats["profilesExited"] == 1


def test_an_opening_at_02_30_on_a_spring_forward_day_sends_at_03_00(api: Api) -> None:
    sunday = next_spring_forward(ZAGREB, clock(api))  # the EU changes on a Sunday
    advance_to(api, at(ZAGREB, sunday - timedelta(days=1), 12))
    flow = windowed_flow(api, {"days": ["sun"], "from": "02:30", "to": "05:00"})
    enter(api, flow, "ana", "Europe/Zagreb")
    advance_to(api, at(ZAGREB, sunday, 4))
    [sms] = messages(api, flow)
    when = sent_at(sms)
    # 02:00 CET jumps to 03:00 CEST: the window opens at the first instant after the gap.
    assert when.astimezone(ZAGREB).strftime("%H:%M %Z") == "03:00 CEST"
    assert when == at(ZAGREB, sunday, 3)
    assert when - at(ZAGREB, sunday, 0) == timedelta(hours=2)  # midnight was CET
