"""A person's stimuli are taken in order, also when an entry could go set-based: a timer
of theirs that came first (here an overdue one, fired on resume) is stepped before their
audience entry into another flow, whose message then reads the profile it changed."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, person
from tests.engine.test_reports import launch


def audience(tag: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": f"Flow {tag}",
        "entry": {"type": "audience", "tags": [tag], "update": "never"},
        "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
        "elements": elements,
    }


def test_a_due_timer_of_the_person_comes_before_their_set_based_entry(api: Api) -> None:
    ana = person(api, "ana", tags=["a", "b"])
    others = [person(api, f"o{i}", tags=["b"]) for i in range(3)]
    renamer = launch(
        api,
        audience(
            "a",
            [
                {"id": "w", "type": "wait", "duration": "PT1H", "next": "rename"},
                {"id": "rename", "type": "update_profile", "set": {"firstName": "'Bea'"}},
            ],
        ),
    )
    drain(api)  # ana waits an hour in the first flow
    assert api.post(f"/flows/{renamer}/pause").status_code == 200
    drain(api, "PT2H")  # her timer is overdue, held by the pause
    greeter = launch(
        api,
        audience(
            "b",
            [{"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi {{ person.firstName }}"}],
        ),
    )
    assert api.post(f"/flows/{renamer}/resume").status_code == 200
    drain(api)  # the timer (due first) and then the entries
    texts = {m["person"]: m["text"] for m in messages(api, greeter)}
    assert texts[ana] == "Hi Bea"
    assert all(texts[o] == "Hi Ana" for o in others)
