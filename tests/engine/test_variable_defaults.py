"""Starting variables: the entry's `assign` (and the Flow API's variables) first, then the
defaults of what is still empty, so a default may read a mapped variable."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import define_events, launched
from tests.conftest import Api
from tests.engine.test_journeys import drain, event, messages, person


def _doc(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Defaults",
        "entry": entry,
        "variables": [
            {"name": "b", "type": "decimal", "default": "a * 2"},
            {"name": "a", "type": "decimal"},
            {"name": "c", "type": "decimal", "default": "1"},
            {"name": "d", "type": "decimal", "default": "c + 1"},
        ],
        "elements": [
            {
                "id": "s",
                "type": "send_sms",
                "from": "Shop",
                "text": "{{ a }} {{ b }} {{ c }} {{ d }}",
            }
        ],
    }


def test_a_default_reads_a_variable_mapped_from_the_entry_event(api: Api) -> None:
    define_events(api)
    entry = {
        "type": "event",
        "event": "CartAbandoned",
        "assign": {"a": "event.cartValue", "c": "event.cartValue"},
    }
    flow = launched(api, _doc(entry))["id"]
    person(api)
    event(api, "CartAbandoned", cartValue=40)
    person(api, "ivo", phones=["+385911234568"])
    event(api, "CartAbandoned", "ivo")  # no cartValue: a and c stay empty, c defaults
    drain(api)
    texts = sorted(m["text"] for m in messages(api, flow))
    # ana: a mapped, b from it; c mapped (its default not used), d from it. ivo: a empty
    # (b too), c's default, d from it.
    assert texts == sorted(["40 80 40 41", "  1 2"])


def test_a_default_reads_a_variable_the_flow_api_gives(api: Api) -> None:
    flow = launched(api, _doc({"type": "api"}))["id"]
    answer = api.post(
        f"/flows/{flow}/participants",
        json={"person": {"externalId": "p", "phones": ["+385911234567"]}, "variables": {"a": 5}},
    )
    assert answer.status_code == 202, answer.text
    drain(api)
    assert [m["text"] for m in messages(api, flow)] == ["5 10 1 2"]
