"""Any flow document that validates runs: never a 5xx, never a failed version (issue #13).

Hypothesis wires valid elements of every kind that needs no other resource (sends,
failover, waits, branches, updates, calls, notify, exit) into random graphs; each
document is launched, people enter through the Flow API, events arrive and the virtual
clock runs a day. Both databases.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

ELEMENTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    # type: (fields, outcomes of its `next` map; () takes a single next)
    "send_sms": ({"from": "Shop", "text": "Hi {{ person.firstName | default: 'you' }}"}, ()),
    "send_email": ({"from": "shop@example.com", "subject": "Hello", "html": "<p>Hi</p>"}, ()),
    "send_whatsapp": ({"from": "+385911111111", "text": "Hi {{ n }}"}, ()),
    "send_viber": ({"from": "Shop", "text": "Hi"}, ()),
    "voice_call": (
        {"from": "+385911111111", "say": "Hello", "language": "en"},
        ("answered", "notAnswered"),
    ),
    "failover": (
        {
            "attempts": [
                {"type": "send_whatsapp", "from": "+385911111111", "text": "Hi"},
                {"type": "send_sms", "from": "Shop", "text": "Hi"},
            ],
            "waitForDelivery": "PT1H",
        },
        ("delivered", "failed"),
    ),
    "wait": ({"duration": "PT30M"}, ()),
    "wait_for_event": ({"event": "Ping", "timeout": "PT2H"}, ("event", "timeout")),
    "segment": ({"branches": [{"name": "many", "when": "n > 1"}]}, ("many", "otherwise")),
    "split": (
        {"branches": [{"name": "a", "percent": 50}, {"name": "b", "percent": 50}]},
        ("a", "b"),
    ),
    "update_profile": ({"addTags": ["fuzzed"], "set": {"firstName": "'Ana'"}}, ()),
    "update_variable": ({"set": {"n": "n + 1"}}, ()),
    "call_api": (
        {"method": "POST", "url": "http://127.0.0.1:9/hook", "body": '{"n": {{ n }}}'},
        ("success", "failure"),
    ),
    "notify": ({"channel": "sms", "to": "'+385911111112'", "from": "Shop", "text": "n"}, ()),
    "exit": ({}, ()),
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    # every element is reached: each one leads to the next by at least one outcome
    inner = sorted(k for k in ELEMENTS if k != "exit")
    kinds = draw(st.lists(st.sampled_from(inner), min_size=0, max_size=6))
    kinds.append(draw(st.sampled_from(sorted(ELEMENTS))))
    elements: list[dict[str, Any]] = []
    for index, kind in enumerate(kinds):
        fields, outcomes = ELEMENTS[kind]
        element: dict[str, Any] = {"id": f"e{index}", "type": kind, **copy.deepcopy(fields)}
        later = [f"e{i}" for i in range(index + 1, len(kinds))]
        if later:
            targets = st.one_of(st.none(), st.sampled_from(later))
            if outcomes:
                wired = {o: draw(targets) for o in outcomes}
                wired[draw(st.sampled_from(outcomes))] = later[0]
                element["next"] = {o: t for o, t in wired.items() if t}
            else:
                element["next"] = later[0]
        if draw(st.booleans()):
            element["name"] = f"Step {index}"
        elements.append(element)
    return {
        "name": "Fuzzed",
        "entry": {"type": "api"},
        "variables": [{"name": "n", "type": "integer", "default": "1"}],
        "elements": elements,
    }


def test_every_valid_document_runs_without_a_failure(api: Api) -> None:
    assert api.post("/event-definitions", json={"name": "Ping", "properties": {}}).status_code in (
        201,
        409,
    )
    errors: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> Any:
        answer = api.request(method, path, **kwargs)
        if answer.status_code >= 500:
            errors.append(f"{method} {path} -> {answer.status_code} {answer.text[:300]}")
        return answer

    @given(doc=documents())
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(doc: dict[str, Any]) -> None:
        made = call("POST", "/flows", json=doc)
        assert made.status_code == 201, made.text
        flow = made.json()["id"]
        launched = call("POST", f"/flows/{flow}/launch")
        assert launched.status_code == 200, (doc, launched.text)
        for i in range(3):
            person = {"externalId": f"f{i}", "phones": [f"+3859120000{i}"], "emails": []}
            call("POST", f"/flows/{flow}/participants", json={"person": person})
        call("POST", "/clock/advance", json={"by": "PT0S"})
        for i in range(3):
            call("POST", "/events", json={"person": {"externalId": f"f{i}"}, "name": "Ping"})
        for by in ("PT45M", "PT2H", "P1D"):
            call("POST", "/clock/advance", json={"by": by})
        view = call("GET", f"/flows/{flow}").json()
        assert view["status"] != "failed", (doc, view["failure"])
        call("GET", f"/flows/{flow}/performance")
        assert call("POST", f"/flows/{flow}/cancel").status_code == 200

    run()
    assert errors == []
