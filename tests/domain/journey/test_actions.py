"""Profile and variable updates, API calls, adding to another flow, notifications."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.domain.journey.helpers import NOW, Journey, counts, flow, of, traces, visited
from tidings.domain.journey import (
    AddToFlow,
    CallApi,
    Notify,
    Phase,
    ResultArrived,
    UpdateProfile,
)

END = {"id": "end", "type": "exit"}


def test_update_profile_emits_and_is_seen_by_later_elements() -> None:
    doc = flow(
        {
            "id": "u",
            "type": "update_profile",
            "set": {
                "loyaltyPoints": "person.loyaltyPoints + 10",
                "country": "null",
                "timezone": '"Asia/Tokyo"',
            },
            "addTags": ["buyer"],
            "removeTags": ["vip"],
            "next": "s",
        },
        {
            "id": "s",
            "type": "segment",
            "branches": [
                {"name": "gold", "when": 'person.loyaltyPoints > 125 and "buyer" in person.tags'}
            ],
            "next": {"gold": "end"},
        },
        END,
    )
    step = Journey(doc).enter()
    assert of(UpdateProfile, step) == [
        UpdateProfile(
            set={"loyaltyPoints": 130, "country": None, "timezone": "Asia/Tokyo"},
            add_tags=("buyer",),
            remove_tags=("vip",),
        )
    ]
    person = step.state.person
    assert person.attributes == {"firstName": "Ana", "loyaltyPoints": 130, "timezone": "Asia/Tokyo"}
    assert person.tags == {"buyer"}
    assert person.timezone == "Asia/Tokyo"
    assert visited(step) == ["u", "s", "end"]


def test_update_variable_sets_all_values_at_once() -> None:
    doc = flow(
        {"id": "u", "type": "update_variable", "set": {"a": "b", "b": "a", "c": "a + b"}},
        variables=[
            {"name": "a", "type": "integer", "default": "1"},
            {"name": "b", "type": "integer", "default": "2"},
            {"name": "c", "type": "integer"},
        ],
    )
    assert Journey(doc).enter().state.variables == {"a": 2, "b": 1, "c": 3}


API: dict[str, Any] = {
    "id": "api",
    "type": "call_api",
    "method": "POST",
    "url": "https://crm.example.com/people/{{ person.externalId }}",
    "headers": {"Authorization": "Bearer {{ token }}", "X-Flow": "cart"},
    "body": '{"value": {{ cartValue }}}',
    "timeout": "PT5S",
    "retries": 1,
    "assign": {"tier": "response.body.tier", "status": "response.status"},
    "next": {"success": "ok", "failure": "ko"},
}


def calling_api(api: dict[str, Any] | None = None) -> Journey:
    doc = flow(
        api or API,
        {"id": "ok", "type": "exit"},
        {"id": "ko", "type": "exit"},
        variables=[
            {"name": "token", "type": "text", "default": '"t0k"'},
            {"name": "cartValue", "type": "decimal", "default": "80.5"},
            {"name": "tier", "type": "text"},
            {"name": "status", "type": "integer"},
        ],
    )
    journey = Journey(doc)
    journey.enter()
    return journey


def test_call_api_emits_the_rendered_request_and_waits() -> None:
    journey = calling_api()
    assert of(CallApi, journey) == [
        CallApi(
            element="api",
            method="POST",
            url="https://crm.example.com/people/p1",
            headers={"Authorization": "Bearer t0k", "X-Flow": "cart"},
            body='{"value": 80.5}',
            timeout_seconds=5.0,
            retries=1,
        )
    ]
    assert journey.state.phase is Phase.waiting
    assert journey.state.element == "api"
    step = journey.apply(ResultArrived("api", "success", {"status": 200, "body": {"tier": "gold"}}))
    assert step.state.variables["tier"] == "gold"
    assert step.state.variables["status"] == 200
    assert step.state.element == "ok"


def test_call_api_failure_assigns_nothing() -> None:
    journey = calling_api()
    step = journey.apply(ResultArrived("api", "failure", {"status": 503}))
    assert step.state.element == "ko"
    assert step.state.variables["tier"] is None
    assert traces(step, "outcome") == [("api", "outcome", "failure: 503")]


def test_call_api_without_an_answer_fails_after_a_grace_period() -> None:
    journey = calling_api()
    assert journey.state.wake_at == NOW + timedelta(seconds=10, hours=1)
    assert journey.until_wake().state.element == "ko"


def test_call_api_that_does_not_render_fails_without_calling() -> None:
    journey = calling_api({**API, "url": "{{ token | divided_by: 0 }}"})
    assert of(CallApi, journey) == []
    assert journey.state.element == "ko"
    assert [t[:2] for t in traces(journey, "skipped")] == [("api", "skipped")]


def test_add_to_flow_passes_evaluated_variables() -> None:
    doc = flow(
        {
            "id": "add",
            "type": "add_to_flow",
            "flow": 12,
            "variables": {"source": '"cart"', "points": "person.loyaltyPoints * 2"},
        },
    )
    step = Journey(doc).enter()
    assert of(AddToFlow, step) == [AddToFlow("add", 12, {"source": "cart", "points": 240})]
    assert step.state.phase is Phase.exited


def test_notify_by_sms_counts_its_parts() -> None:
    doc = flow(
        {
            "id": "n",
            "type": "notify",
            "channel": "sms",
            "to": '"+38591" + "9999999"',
            "from": "Shop",
            "text": "{{ person.firstName }} left a cart. " + "x" * 150,
        },
    )
    step = Journey(doc).enter()
    [notify] = of(Notify, step)
    assert (notify.element, notify.channel, notify.to, notify.sender) == (
        "n",
        "sms",
        "+385919999999",
        "Shop",
    )
    assert notify.content["text"].startswith("Ana left a cart.")
    assert notify.parts == 2
    assert counts(step)[("messagesSent", "n")] == 2
    assert ("messagesSent", None) not in counts(step)  # not a message to the person


def test_notify_by_email_and_without_a_recipient() -> None:
    doc = flow(
        {
            "id": "n",
            "type": "notify",
            "channel": "email",
            "to": "person.manager",
            "from": "shop@example.com",
            "subject": "Lead {{ person.firstName }}",
            "html": "<b>!</b>",
        },
    )
    step = Journey(doc).enter()
    assert of(Notify, step) == []
    assert traces(step, "skipped") == [("n", "skipped", "no recipient")]
    doc["elements"][0]["to"] = '"boss@example.com"'
    [notify] = of(Notify, Journey(doc).enter())
    assert notify.content == {"subject": "Lead Ana", "html": "<b>!</b>"}
