"""API keys: an admin creates, lists and revokes its account's keys; a key that is not
admin works on people, events and flows but not on accounts, keys, connections or MEP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def _as(api: Api, key: str) -> Api:
    return Api(api.client, key, api.account_id)


def _create(api: Api, name: str, *, admin: bool = False) -> dict[str, Any]:
    answer = api.post("/keys", json={"name": name, "admin": admin})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_created_key_is_shown_once_and_listed_without_its_secret(api: Api) -> None:
    created = _create(api, "reporting")
    assert created["key"].startswith("tdk_")
    assert created["admin"] is False
    assert created["name"] == "reporting"
    listed = api.get("/keys")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [k["name"] for k in items] == ["test", "reporting"]
    assert created["key"] not in listed.text
    mine = next(k for k in items if k["id"] == created["id"])
    assert set(mine) == {"id", "name", "admin", "prefix", "createdAt", "lastUsedAt"}
    assert mine["lastUsedAt"] is None
    assert created["key"].startswith(mine["prefix"])
    # the new key is one of this account's
    reader = _as(api, created["key"])
    assert reader.get("/account").json()["id"] == api.account_id


def test_a_key_that_is_not_admin_uses_people_events_and_flows(api: Api) -> None:
    reader = _as(api, _create(api, "app")["key"])
    assert reader.post("/people", json={"externalId": "p1"}).status_code in (200, 201)
    assert reader.get("/people").status_code == 200
    assert reader.post("/events", json=[{"person": {"externalId": "p1"}, "name": "Visited"}])
    assert reader.get("/flows").status_code == 200
    posted = reader.post("/flows", json={"name": "Hello", "entry": {"type": "api"}})
    assert posted.status_code == 201, posted.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/keys", {"name": "more"}),
        ("GET", "/keys", None),
        ("DELETE", "/keys/1", None),
        ("POST", "/accounts", {"name": "Sub"}),
        ("PATCH", "/account", {"name": "Mine now"}),
        ("GET", "/connections", None),
        ("POST", "/connections", {"name": "x", "provider": "smtp"}),
        ("GET", "/mep", None),
    ],
)
def test_a_key_that_is_not_admin_gets_403_on_accounts_keys_connections_and_mep(
    api: Api, method: str, path: str, body: Any
) -> None:
    reader = _as(api, _create(api, "app")["key"])
    answer = reader.request(method, path, json=body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"
    assert len(api.get("/keys").json()["items"]) == 2  # nothing was created


def test_a_revoked_key_gets_401_at_once(api: Api) -> None:
    created = _create(api, "temp", admin=True)
    temp = _as(api, created["key"])
    assert temp.get("/keys").status_code == 200  # used once: known to the key cache
    assert api.delete(f"/keys/{created['id']}").status_code == 204
    answer = temp.get("/people")
    assert answer.status_code == 401
    assert created["key"] not in answer.text
    assert [k["name"] for k in api.get("/keys").json()["items"]] == ["test"]
    assert api.delete(f"/keys/{created['id']}").status_code == 404


def test_an_admin_key_may_revoke_itself_but_not_the_last_admin_key(api: Api) -> None:
    own = api.get("/keys").json()["items"][0]
    reader = _create(api, "app")
    refused = api.delete(f"/keys/{own['id']}")
    assert refused.status_code == 409
    assert "last admin key" in refused.json()["error"]["message"]
    second = _as(api, _create(api, "second admin", admin=True)["key"])
    assert second.delete(f"/keys/{own['id']}").status_code == 204
    assert api.get("/keys").status_code == 401
    names = [k["name"] for k in second.get("/keys").json()["items"]]
    assert names == ["app", "second admin"]
    assert _as(api, reader["key"]).get("/people").status_code == 200


def test_forged_keys_get_401(api: Api) -> None:
    for header in ["Bearer tdk_forged", "Bearer ", "Basic abc", api.headers["Authorization"][:-1]]:
        answer = api.client.get("/api/v1/keys", headers={"Authorization": header})
        assert answer.status_code == 401, header
        assert answer.json()["error"]["code"] == "unauthorized"
    assert api.client.get("/api/v1/keys").status_code == 401


def test_another_accounts_key_cannot_be_seen_or_revoked(api: Api, other_api: Api) -> None:
    theirs = _create(other_api, "theirs")
    assert api.delete(f"/keys/{theirs['id']}").status_code == 404
    assert theirs["id"] not in [k["id"] for k in api.get("/keys").json()["items"]]
    assert _as(other_api, theirs["key"]).get("/people").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 12}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "nul\u0000here"}, "name"),
        ({"name": "line\nbreak"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "ok", "admin": "maybe"}, "admin"),
        ({"name": "ok", "scopes": ["all"]}, "scopes"),
    ],
)
def test_bad_key_bodies_are_refused_naming_the_field(api: Api, body: Any, field: str) -> None:
    answer = api.post("/keys", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == field
    assert len(api.get("/keys").json()["items"]) == 1


@pytest.mark.parametrize("key_id", ["abc", "0", "-1", str(2**63)])
def test_bad_key_ids_are_refused(api: Api, key_id: str) -> None:
    answer = api.delete(f"/keys/{key_id}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "key_id"


def test_an_unknown_key_id_is_404(api: Api) -> None:
    assert api.delete("/keys/999999999").status_code == 404


def test_a_key_shows_when_it_was_last_used(api: Api) -> None:
    created = _create(api, "used")
    unused = _create(api, "unused")
    now = api.get("/clock").json()["now"]
    assert _as(api, created["key"]).get("/people").status_code == 200
    _create(api, "a write after the use: the use's mark is queued before it")
    listed = {k["name"]: k for k in api.get("/keys").json()["items"]}
    assert listed["used"]["lastUsedAt"] == now
    assert listed["unused"]["lastUsedAt"] is None
    assert listed["test"]["lastUsedAt"] is not None  # this client's own key
    assert unused["id"] == listed["unused"]["id"]
