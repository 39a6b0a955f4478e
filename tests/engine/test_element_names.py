"""Element names beside their ids wherever a person reads them: performance, the journey
trace and sandbox messages; each from the document of the version that ran."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person


def _doc(sms_name: str | None) -> dict[str, Any]:
    sms: dict[str, Any] = {"id": "sms1", "type": "send_sms", "from": "S", "text": "Hi"}
    if sms_name is not None:
        sms["name"] = sms_name
    return {
        "name": "Names",
        "entry": {"type": "api"},
        "elements": [
            {**sms, "next": "w"},
            {"id": "w", "type": "wait", "duration": "PT1H", "name": "Pause"},
        ],
    }


def _enter(api: Api, flow: int, who: str) -> None:
    body = {"person": {"externalId": who}}
    assert api.post(f"/flows/{flow}/participants", json=body).status_code == 202


def test_names_come_with_ids_in_performance_journeys_and_sandbox(api: Api) -> None:
    created = api.post("/flows", json=_doc("Welcome SMS"))
    assert created.status_code == 201, created.text
    flow = created.json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    ana = person(api, "ana")
    _enter(api, flow, "ana")
    drain(api, "PT2H")
    # version 2 renames the SMS and gives the exit no name
    assert api.post(f"/flows/{flow}/versions").status_code == 201
    assert api.put(f"/flows/{flow}/document", json=_doc("Hello SMS")).status_code == 200
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    ivo = person(api, "ivo", phones=["+385911234568"])
    _enter(api, flow, "ivo")
    drain(api)

    sent = {m["person"]: m for m in messages(api, flow)}
    assert sent[ana]["element"] == "sms1"
    assert sent[ana]["elementName"] == "Welcome SMS"
    assert sent[ivo]["elementName"] == "Hello SMS"

    first = perf(api, flow, "1")["elements"]
    assert first["sms1"]["name"] == "Welcome SMS"
    assert first["w"]["name"] == "Pause"
    assert first["exit-w"]["name"] is None  # an exit added by itself has none
    assert perf(api, flow)["elements"]["sms1"]["name"] == "Hello SMS"  # all: the newest

    [journey] = api.get(f"/people/{ana}/journeys").json()["journeys"]
    named = {(s["element"], s["elementName"]) for s in journey["steps"]}
    assert ("sms1", "Welcome SMS") in named
    assert ("w", "Pause") in named
    assert (None, None) in named  # the entry
    [journey] = api.get(f"/people/{ivo}/journeys").json()["journeys"]
    assert journey["element"] == "w"
    assert journey["elementName"] == "Pause"
    assert ("sms1", "Hello SMS") in {(s["element"], s["elementName"]) for s in journey["steps"]}
