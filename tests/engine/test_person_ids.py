"""The person's own ids (`person.externalId`, `person.id`) in messages, call_api requests
and expressions: validation takes them and every path renders the person's values."""

from __future__ import annotations

import json
from typing import Any

from tests.api.flows.helpers import launched
from tests.conftest import Api
from tests.engine.test_call_api import Sink, sink  # noqa: F401  (the fixture)
from tests.engine.test_journeys import drain, event, messages, person


def _flow(port: int) -> dict[str, Any]:
    return {
        "name": "Ids",
        "entry": {"type": "event", "event": "Hello"},
        "variables": [
            {"name": "next", "type": "integer"},
            {"name": "who", "type": "text"},
        ],
        "elements": [
            {
                "id": "seg",
                "type": "segment",
                "branches": [
                    {"name": "known", "when": "person.externalId == 'ana' and person.id > 0"}
                ],
                "next": {"known": "sms", "otherwise": "bye"},
            },
            {
                "id": "sms",
                "type": "send_sms",
                "from": "Shop",
                "text": "Hi {{ person.externalId }}, you are #{{ person.id }}",
                "next": "calc",
            },
            {
                "id": "calc",
                "type": "update_variable",
                "set": {"next": "person.id + 1", "who": "concat('ext-', person.externalId)"},
                "next": "call",
            },
            {
                "id": "call",
                "type": "call_api",
                "method": "POST",
                "url": f"http://127.0.0.1:{port}/people/{{{{ person.id }}}}",
                "headers": {"X-Customer": "{{ person.externalId }}"},
                "body": '{"ext": "{{ person.externalId }}", "id": {{ person.id }}, '
                '"next": {{ next }}, "who": "{{ who }}"}',
                "next": {"success": "done"},
            },
            {"id": "done", "type": "send_sms", "from": "Shop", "text": "Done {{ who }}"},
            {"id": "bye", "type": "send_sms", "from": "Shop", "text": "Bye"},
        ],
    }


def test_the_persons_own_ids_read_in_texts_requests_and_expressions(
    api: Api,
    sink: Sink,  # noqa: F811
) -> None:
    api.patch("/account", json={"allowPrivateUrls": True})
    assert api.post("/event-definitions", json={"name": "Hello", "properties": {}}).status_code
    doc = _flow(sink.port)
    created = api.post("/flows", json=doc)
    assert created.status_code == 201, created.text
    flow = created.json()["id"]
    checked = api.post(f"/flows/{flow}/validate").json()
    assert checked["problems"] == []
    assert api.post(f"/flows/{flow}/launch").status_code == 200, "launches"
    pid = person(api)  # externalId "ana"
    event(api, "Hello")
    drain(api)
    assert [m["text"] for m in messages(api, flow)] == [
        f"Hi ana, you are #{pid}",
        "Done ext-ana",
    ]
    assert len(sink.requests) == 1
    request = sink.requests[0]
    assert request["path"] == f"/people/{pid}"
    assert request["headers"]["X-Customer"] == "ana"
    assert json.loads(request["body"]) == {
        "ext": "ana",
        "id": pid,
        "next": pid + 1,
        "who": "ext-ana",
    }


def test_the_ids_are_typed_and_not_writable(api: Api) -> None:
    doc = {
        "name": "Typed",
        "entry": {"type": "api"},
        "variables": [{"name": "n", "type": "integer"}],
        "elements": [
            {"id": "u", "type": "update_variable", "set": {"n": "person.externalId"}},
            {"id": "p", "type": "update_profile", "set": {"externalId": "'x'"}},
        ],
    }
    flow = api.post("/flows", json=doc).json()["id"]
    problems = api.post(f"/flows/{flow}/validate").json()["problems"]
    fields = {(p["element"], p["field"]) for p in problems}
    assert ("u", "set.n") in fields  # a text is not an integer
    assert ("p", "set.externalId") in fields  # the id is not an attribute to change


def test_a_launch_composes_the_external_id_for_everyone(api: Api) -> None:
    """An audience's SMS with `{{ person.externalId }}` (the store may compose it) and
    `{{ person.id }}` (Python does)."""
    ids = {
        ext: person(api, ext, tags=["ids"], phones=[f"+38591123456{i}"])
        for i, ext in enumerate(["p1", "p2"])
    }
    ids["none"] = person(api, "p3", tags=["ids"], phones=["+385911234569"])
    api.patch(f"/people/{ids['none']}", json={"externalId": None})

    def sms(name: str, text: str) -> dict[str, Any]:
        return {
            "name": name,
            "entry": {"type": "audience", "tags": ["ids"]},
            "settings": {"schedule": {"end": "2099-01-01T00:00:00Z"}},
            "elements": [{"id": "a", "type": "send_sms", "from": "S", "text": text}],
        }

    by_ext = launched(api, sms("Ext", "Ext {{ person.externalId }}."))["id"]
    by_id = launched(api, sms("Id", "Id {{ person.id }}."))["id"]
    drain(api)
    expected = sorted(
        (pid, "Ext ." if ext == "none" else f"Ext {ext}.") for ext, pid in ids.items()
    )
    assert sorted((m["person"], m["text"]) for m in messages(api, by_ext)) == expected
    expected = sorted((pid, f"Id {pid}.") for pid in ids.values())
    assert sorted((m["person"], m["text"]) for m in messages(api, by_id)) == expected


def test_no_custom_attribute_takes_the_name_of_an_id(api: Api) -> None:
    for name in ("id", "externalId"):
        refused = api.post("/attributes", json={"name": name, "type": "text"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == "name"
