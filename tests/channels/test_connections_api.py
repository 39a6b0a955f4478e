"""`/connections` through the public API: admin keys only, secrets write-only, the
private-address guard, clear 4xx naming the field, tenants apart."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.store import accounts

SID = "AC" + "0" * 32


def twilio(**over: Any) -> dict[str, Any]:
    body = {
        "name": "Twilio",
        "provider": "twilio",
        "channels": ["sms"],
        "settings": {
            "baseUrl": "https://api.twilio.example",
            "accountSid": SID,
            "authToken": "secret-token-1",
        },
    }
    body.update(over)
    return body


def test_a_connection_hides_its_secret_and_answers_its_webhooks(api: Api) -> None:
    made = api.post("/connections", json=twilio(default=True))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["settings"]["authToken"] == "set"
    assert "secret-token-1" not in made.text
    assert body["default"] is True
    delivery, inbound = body["webhooks"]["delivery"], body["webhooks"]["inbound"]
    assert delivery.endswith("/delivery")
    assert inbound.endswith("/inbound")
    assert "/api/v1/webhooks/" in delivery
    read = api.get(f"/connections/{body['id']}")
    assert read.status_code == 200
    assert "secret-token-1" not in read.text
    listed = api.get("/connections").json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert "secret-token-1" not in api.get("/connections").text


def test_a_change_without_the_secret_keeps_it(api: Api) -> None:
    made = api.post("/connections", json=twilio()).json()
    changed = api.patch(f"/connections/{made['id']}", json={"name": "Renamed", "default": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Renamed"
    assert changed.json()["default"] is True
    assert changed.json()["settings"]["authToken"] == "set"


def test_bad_input_names_the_field(api: Api) -> None:
    unknown = api.post("/connections", json=twilio(provider="carrier-pigeon"))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "provider"
    channel = api.post("/connections", json=twilio(channels=["sms", "viber"]))
    assert channel.status_code == 422
    assert channel.json()["error"]["details"][0]["field"] == "channels.1"
    missing = api.post("/connections", json=twilio(settings={"accountSid": SID}))
    assert missing.status_code == 422
    fields = [d["field"] for d in missing.json()["error"]["details"]]
    assert "settings.authToken" in fields
    bad_rate = api.post(
        "/connections",
        json=twilio(settings={**twilio()["settings"], "messagesPerSecond": -1}),
    )
    assert bad_rate.status_code == 422
    assert bad_rate.json()["error"]["details"][0]["field"] == "settings.messagesPerSecond"
    assert "secret-token-1" not in bad_rate.text
    assert api.get("/connections").json()["items"] == []  # a refused request wrote nothing


def test_a_provider_on_a_private_address_is_refused_unless_allowed(api: Api) -> None:
    local = twilio(settings={**twilio()["settings"], "baseUrl": "http://127.0.0.1:9"})
    refused = api.post("/connections", json=local)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "settings.baseUrl"
    assert "loopback" in refused.json()["error"]["message"]
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    assert api.post("/connections", json=local).status_code == 201


def test_only_admin_keys_manage_connections(api: Api, system: Tidings) -> None:
    key = system.db.write(
        lambda conn: accounts.create_key(
            conn, account_id=api.account_id, name="app", admin=False, now=0
        )
    )
    plain = {"Authorization": f"Bearer {key}"}
    assert api.client.get("/api/v1/connections", headers=plain).status_code == 403
    assert api.client.post("/api/v1/connections", json=twilio(), headers=plain).status_code == 403


def test_accounts_see_only_their_own_connections(api: Api, other_api: Api) -> None:
    made = api.post("/connections", json=twilio()).json()
    assert other_api.get(f"/connections/{made['id']}").status_code == 404
    assert other_api.patch(f"/connections/{made['id']}", json={"name": "x"}).status_code == 404
    assert other_api.delete(f"/connections/{made['id']}").status_code == 404
    assert api.delete(f"/connections/{made['id']}").status_code == 204
    assert api.get(f"/connections/{made['id']}").status_code == 404


def test_a_forged_or_unknown_webhook_is_refused(api: Api) -> None:
    made = api.post("/connections", json=twilio()).json()
    url = made["webhooks"]["delivery"].split("/api/v1", 1)[1]
    unsigned = api.client.post(
        "/api/v1" + url + "?m=1",
        content=b"MessageSid=SM1&MessageStatus=delivered",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 403
    unknown = api.client.post("/api/v1/webhooks/" + "x" * 43 + "/delivery", content=b"{}")
    assert unknown.status_code == 404
    short = api.client.post("/api/v1/webhooks/abc/delivery", content=b"{}")
    assert short.status_code in (404, 422)


def test_an_smtp_host_on_a_private_address_is_refused_unless_allowed(api: Api) -> None:
    local = {"name": "Mail", "provider": "smtp",
             "settings": {"host": "127.0.0.1", "port": 2525, "security": "none"}}  # fmt: skip
    refused = api.post("/connections", json=local)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "settings.host"
    for host in ("localhost", "10.1.2.3", "169.254.169.254", "[::1]"):
        also = api.post("/connections", json={**local, "settings": {"host": host}})
        assert also.status_code == 422, host
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200
    assert api.post("/connections", json=local).status_code == 201


def test_the_default_route_follows_the_latest_default_and_a_deleted_one_is_gone(
    api: Api,
) -> None:
    first = api.post("/connections", json=twilio(default=True)).json()
    second = api.post("/connections", json=twilio(name="Second", default=True)).json()
    assert api.get(f"/connections/{first['id']}").json()["default"] is True
    assert api.get(f"/connections/{second['id']}").json()["default"] is True
    off = api.patch(f"/connections/{second['id']}", json={"default": False})
    assert off.json()["default"] is False
    assert api.delete(f"/connections/{first['id']}").status_code == 204
    assert [c["id"] for c in api.get("/connections").json()["items"]] == [second["id"]]
