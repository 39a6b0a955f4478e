"""`wait` `at` and `until` on the person's wall clock, end to end: a person in Zagreb, one in
Auckland, one without a zone (the flow's), and the day the clocks spring forward; through
the public API on the virtual clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_journeys import messages
from tests.engine.timing import (
    AUCKLAND,
    NEW_YORK,
    ZAGREB,
    advance_by,
    advance_to,
    at,
    clock,
    next_spring_forward,
    sent_at,
)

PEOPLE = {
    "zagreb": ("Europe/Zagreb", "+385911000001"),
    "akl": ("Pacific/Auckland", "+6421000001"),
    "nozone": (None, "+12125550101"),
}
ZONES = {"zagreb": ZAGREB, "akl": AUCKLAND, "nozone": NEW_YORK}  # the flow's is New York's
TOMORROW_9 = "datetime(concat(date(dateAdd(now(), 1, 'days')), 'T09:00'))"


def waiting_flow(api: Api, wait: dict[str, Any]) -> int:
    doc = {
        "name": "Waits in zones",
        "timezone": "America/New_York",
        "entry": {"type": "api"},
        "elements": [
            {"id": "w", "type": "wait", **wait, "next": "sms"},
            {"id": "sms", "type": "send_sms", "from": "Shop", "text": "Hi"},
        ],
    }
    return int(launched(api, doc)["id"])


def enter(api: Api, flow: int, who: str, **attributes: Any) -> None:
    zone, phone = PEOPLE[who]
    body: dict[str, Any] = {"externalId": who, "phones": [phone]}
    if zone is not None:
        body["timezone"] = zone
    if attributes:
        body["attributes"] = attributes
    answer = api.post(f"/flows/{flow}/participants", json={"person": body})
    assert answer.status_code == 202, answer.text


def sent_by_phone(api: Api, flow: int) -> dict[str, datetime]:
    return {m["to"]: sent_at(m) for m in messages(api, flow)}


def next_nine(zone: ZoneInfo, after: datetime) -> datetime:
    day = after.astimezone(zone).date()
    while at(zone, day, 9) <= after:
        day += timedelta(days=1)
    return at(zone, day, 9)


def test_wait_at_nine_is_nine_on_each_persons_clock(api: Api) -> None:
    flow = waiting_flow(api, {"at": "09:00"})
    now = clock(api)
    for who in PEOPLE:
        enter(api, flow, who)
    advance_by(api, "P2D")
    sent = sent_by_phone(api, flow)
    for who, (_zone, phone) in PEOPLE.items():
        assert sent[phone] == next_nine(ZONES[who], now), who
        assert sent[phone].astimezone(ZONES[who]).strftime("%H:%M") == "09:00"


def test_wait_until_tomorrow_nine_on_each_persons_clock(api: Api) -> None:
    flow = waiting_flow(api, {"until": TOMORROW_9})
    now = clock(api)
    for who in PEOPLE:
        enter(api, flow, who)
    advance_by(api, "P3D")
    sent = sent_by_phone(api, flow)
    for who, (_zone, phone) in PEOPLE.items():
        zone = ZONES[who]
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        assert sent[phone] == at(zone, tomorrow, 9), who


@pytest.mark.parametrize(("who", "zone"), [("zagreb", ZAGREB), ("akl", AUCKLAND)])
def test_a_time_of_day_that_spring_forward_skips(api: Api, who: str, zone: ZoneInfo) -> None:
    sunday = next_spring_forward(zone, clock(api))  # 02:00 jumps to 03:00 in both zones
    advance_to(api, at(zone, sunday - timedelta(days=1), 12))
    answer = api.post("/attributes", json={"name": "appointment", "type": "text"})
    assert answer.status_code == 201, answer.text
    at_flow = waiting_flow(api, {"at": "02:30"})
    until_flow = waiting_flow(api, {"until": "datetime(person.appointment)"})
    for flow in (at_flow, until_flow):
        enter(api, flow, who, appointment=f"{sunday}T02:30")
    advance_to(api, at(zone, sunday, 6))
    _zone, phone = PEOPLE[who]
    for flow in (at_flow, until_flow):
        when = sent_by_phone(api, flow)[phone]
        # 02:30 does not exist that night: it moves on by the gap, to 03:30 summer time.
        assert when.astimezone(zone).strftime("%H:%M") == "03:30"
        assert when - at(zone, sunday, 0) == timedelta(hours=2, minutes=30)
