"""Tenant isolation: every endpoint with a path id, called by another account with this
account's ids, finds nothing and changes nothing. The endpoints come from the OpenAPI
document, so a new endpoint is covered the day it is added (or this test says what id
it needs)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api

PATCHES: dict[str, dict[str, Any]] = {
    "people": {"firstName": "Mallory"},
    "tags": {"name": "stolen"},
    "companies": {"name": "Stolen Inc"},
    "segments": {"name": "stolen"},
    "event-definitions": {"description": "stolen"},
    "attributes": {"description": "stolen"},
    "flows": {"settings": {"goal": {"event": "Bought"}}},
    "participants": {"person": {"externalId": "intruder"}},
    "audience": {"add": {"tags": ["vip"]}},
    "catalogs": {"name": "stolen"},
    "items": {"values": {"title": "stolen"}},
    "connections": {"name": "stolen"},
    "test-runs": {"people": 1, "days": 1},
}


def owned_resources(api: Api) -> dict[str, str]:
    """Create one of everything in `api`'s account; return path parameter -> value."""
    assert api.post("/attributes", json={"name": "points", "type": "integer"}).status_code == 201
    assert api.post("/event-definitions", json={"name": "Bought"}).status_code == 201
    company = api.post("/companies", json={"name": "Acme"}).json()
    person = api.post(
        "/people",
        json={
            "externalId": "victim",
            "firstName": "Ana",
            "tags": ["vip"],
            "companies": ["Acme"],
            "attributes": {"points": 5},
        },
    ).json()
    tag = api.get("/tags").json()["items"][0]
    segment = api.post("/segments", json={"name": "VIPs", "rule": {"tag": "vip"}}).json()
    api.post("/events", json={"person": {"externalId": "victim"}, "name": "Bought"})
    flow = api.post("/flows", json={"template": "win-back"}).json()
    assert api.post(f"/flows/{flow['id']}/launch").status_code == 200
    api.post("/templates", json={"name": "ours", "flow": flow["id"]})
    catalog = api.post(
        "/catalogs", json={"name": "products", "columns": [{"name": "title", "type": "text"}]}
    ).json()
    assert (
        api.put(
            f"/catalogs/{catalog['id']}/items/A-1", json={"values": {"title": "Boots"}}
        ).status_code
        == 201
    )
    connection = api.post(
        "/connections",
        json={"name": "Mail", "provider": "smtp", "settings": {"host": "smtp.example.com"}},
    ).json()
    report = api.post("/reports", json={"type": "channels", "flow": flow["id"]}).json()
    key = api.post("/keys", json={"name": "victim key"}).json()
    return {
        "report_id": str(report["id"]),
        "key_id": str(key["id"]),
        "connection_id": str(connection["id"]),
        "catalog_id": str(catalog["id"]),
        "key": "A-1",
        "flow_id": str(flow["id"]),
        "number": "1",
        "templates:name": "ours",
        "person_id": str(person["id"]),
        "tag_id": str(tag["id"]),
        "company_id": str(company["id"]),
        "segment_id": str(segment["id"]),
        "event-definitions:name": "Bought",
        "attributes:name": "points",
    }


def test_no_endpoint_lets_another_account_reach_these_ids(api: Api, other_api: Api) -> None:
    ids = owned_resources(api)
    document = api.client.get("/api/v1/openapi.json").json()
    tried = 0
    for path, operations in document["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params or path.startswith("/api/v1/webhooks/"):
            # a webhook reads no API key: its unguessable token is the credential
            # (tests/channels/test_connections_api.py refuses unknown and forged ones)
            continue
        resource = path.removeprefix("/api/v1/").split("/")[0]
        if path.endswith(("/participants", "/audience", "/test-runs")):
            resource = path.rsplit("/", 1)[1]
        elif "/items" in path:
            resource = "items"
        concrete = path
        for param in params:
            value = ids.get(param) or ids.get(f"{resource}:{param}")
            assert value is not None, f"add an id for {{{param}}} of {path} to this test"
            concrete = concrete.replace(f"{{{param}}}", value)
        for method in operations:
            body = PATCHES.get(resource, {}) if method in ("patch", "put", "post") else None
            answer = other_api.request(method.upper(), concrete.removeprefix("/api/v1"), json=body)
            assert answer.status_code in (403, 404), f"{method.upper()} {path}: {answer.text}"
            tried += 1
    assert tried >= 15

    person = api.get(f"/people/{ids['person_id']}").json()
    assert person["firstName"] == "Ana"
    assert person["tags"] == ["vip"]
    assert api.get(f"/segments/{ids['segment_id']}").json()["name"] == "VIPs"
    assert api.get(f"/tags/{ids['tag_id']}").json()["name"] == "vip"
    assert api.get(f"/companies/{ids['company_id']}").json()["name"] == "Acme"
    assert api.get("/attributes/points").json()["description"] is None
    assert api.get("/event-definitions/Bought").json()["description"] is None
    assert len(api.get(f"/people/{ids['person_id']}/events").json()["items"]) == 1
    flow = api.get(f"/flows/{ids['flow_id']}").json()
    assert flow["status"] == "active"
    assert flow["versions"] == [{**flow["versions"][0], "version": 1, "status": "active"}]
    assert "ours" in {t["name"] for t in api.get("/templates").json()["items"]}
    catalog = api.get(f"/catalogs/{ids['catalog_id']}").json()
    assert (catalog["name"], catalog["itemCount"]) == ("products", 1)
    item = api.get(f"/catalogs/{ids['catalog_id']}/items/A-1").json()
    assert item["values"] == {"title": "Boots"}
    assert ids["key_id"] in {str(k["id"]) for k in api.get("/keys").json()["items"]}


def test_lists_of_another_account_are_empty_of_these(api: Api, other_api: Api) -> None:
    owned_resources(api)
    for path in (
        "/people",
        "/tags",
        "/companies",
        "/segments",
        "/attributes",
        "/flows",
        "/catalogs",
        "/reports",
    ):
        assert other_api.get(path).json()["items"] == [], path
    custom = [d for d in other_api.get("/event-definitions").json()["items"] if not d["standard"]]
    assert custom == []
