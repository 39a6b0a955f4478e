"""Variables and expressions end to end on the virtual clock, through the public API, on
both databases: formula defaults in the account's time zone, now() in UTC, message-event
functions, and a hostile template that is skipped, not a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person


def clock(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/clock").json()["now"])


def api_flow(api: Api, elements: list[dict[str, Any]], **fields: Any) -> int:
    define_events(api)
    doc = {"name": "Expressions", "entry": {"type": "api"}, "elements": elements, **fields}
    return int(launched(api, doc)["id"])


def enter(api: Api, flow: int, external_id: str = "ana", **variables: Any) -> None:
    answer = api.post(
        f"/flows/{flow}/participants",
        json={"person": {"externalId": external_id}, "variables": variables},
    )
    assert answer.status_code == 202, answer.text


def test_formula_defaults_use_the_account_zone_and_now_is_utc(api: Api) -> None:
    zone = "Pacific/Auckland"
    assert api.patch("/account", json={"timezone": zone}).status_code == 200
    answer = api.post("/attributes", json={"name": "loyaltyPoints", "type": "integer"})
    assert answer.status_code in (200, 201), answer.text
    variables = [
        {"name": "points", "type": "integer", "default": "coalesce(person.loyaltyPoints, 0)"},
        {"name": "tier", "type": "text", "default": 'if(points >= 100, "gold", "standard")'},
        {"name": "day", "type": "date", "default": "today()"},
        {"name": "expires", "type": "date", "default": 'dateAdd(today(), 30, "days")'},
        {"name": "stamp", "type": "datetime", "default": "now()"},
        {"name": "local", "type": "text", "default": 'formatDate(now(), "d MMM yyyy HH:mm")'},
        {"name": "code", "type": "text", "default": 'upper(concat("vip-", person.firstName))'},
    ]
    text = "{{ points }} {{ tier }} {{ day }} {{ expires }} {{ stamp }} | {{ local }} {{ code }}"
    flow = api_flow(
        api,
        [{"id": "s", "type": "send_sms", "from": "Shop", "text": text}],
        variables=variables,
    )
    person(api, attributes={"loyaltyPoints": 150})
    drain(api, "PT11H")  # wherever the shared clock stands, move it a little
    enter(api, flow, points=7)  # a given value replaces its default; tier's reads it
    drain(api)
    now = clock(api)
    local = now.astimezone(ZoneInfo(zone))
    [sms] = messages(api, flow)
    assert sms["text"] == (
        f"7 standard {local.date()} {local.date() + timedelta(days=30)} "
        f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')} | {local.day} {local.strftime('%b %Y %H:%M')} "
        "VIP-ANA"
    )


def test_message_events_answer_clicked_and_delivered(api: Api) -> None:
    settings = {"delivered": 1.0, "seen": 1.0, "clicked": 1.0, "delay": "PT5M"}
    assert api.patch("/sandbox/settings", json=settings).status_code == 200
    flow = api_flow(
        api,
        [
            {"id": "sms1", "type": "send_sms", "from": "Shop", "text": "Offer", "next": "w"},
            {"id": "w", "type": "wait", "duration": "PT1H", "next": "seg"},
            {
                "id": "seg",
                "type": "segment",
                "branches": [
                    {"name": "clicked", "when": 'clicked("sms1") and delivered("sms1")'},
                    {"name": "failed", "when": 'failed("sms1")'},
                ],
                "next": {"clicked": "thanks", "otherwise": "again"},
            },
            {"id": "thanks", "type": "send_sms", "from": "Shop", "text": "Thanks for clicking"},
            {"id": "again", "type": "send_sms", "from": "Shop", "text": "Did you see it?"},
        ],
    )
    person(api)
    enter(api, flow)
    drain(api, "PT2H")
    assert [m["text"] for m in messages(api, flow)] == ["Offer", "Thanks for clicking"]
    assert api.patch("/sandbox/settings", json={"clicked": 0.0}).status_code == 200
    person(api, "ivo", phones=["+385911234568"])
    enter(api, flow, "ivo")
    drain(api, "PT2H")
    texts = [m["text"] for m in messages(api, flow)]
    assert texts[2:] == ["Offer", "Did you see it?"]
    assert perf(api, flow)["flow"]["activeProfiles"] == 2  # both saw their offer


def test_a_hostile_template_is_skipped_and_the_person_goes_on(api: Api) -> None:
    hostile = (
        "{% for i in (1..10000) %}{% assign n = person.firstName | append: big"
        " | split: '' | sort | join: '' | size %}{% endfor %}{{ n }}"
    )
    flow = api_flow(
        api,
        [
            {"id": "bad", "type": "send_sms", "from": "Shop", "text": hostile, "next": "loop"},
            {
                "id": "loop",
                "type": "send_email",
                "from": "shop@example.com",
                "subject": "Hi",
                "html": "{% for i in (1..1000000000) %}x{% endfor %}",
                "next": "fine",
            },
            {"id": "fine", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"},
        ],
        variables=[{"name": "big", "type": "text", "default": '"x"'}],
    )
    person(api)
    enter(api, flow, big="y" * 4000)  # sorting it 10,000 times: 20 s without the budget
    drain(api)
    assert [m["text"] for m in messages(api, flow)] == ["Hi Ana"]
    elements = perf(api, flow)["elements"]
    assert elements["bad"]["totalEngagements"] == 1
    assert elements["bad"]["messagesSent"] == 0
    assert elements["loop"]["messagesSent"] == 0
    assert elements["fine"]["messagesSent"] == 1
