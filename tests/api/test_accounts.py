"""Accounts: creation by the default account's admin, settings, keys and isolation."""

from __future__ import annotations

from tests.conftest import ADMIN_KEY, Api
from tidings.bootstrap import Tidings
from tidings.store import accounts


def test_default_admin_creates_an_account_whose_key_works(api: Api) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = api.client.post(
        "/api/v1/accounts", json={"name": "Shop B", "timezone": "Europe/Zagreb"}, headers=admin
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["apiKey"].startswith("tdk_")
    mine = api.client.get("/api/v1/account", headers={"Authorization": f"Bearer {body['apiKey']}"})
    assert mine.json()["name"] == "Shop B"
    assert mine.json()["timezone"] == "Europe/Zagreb"


def test_only_the_default_account_may_create_accounts(api: Api) -> None:
    answer = api.post("/accounts", json={"name": "Sneaky"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_account_settings_read_and_change(api: Api) -> None:
    assert api.get("/account").json()["allowPrivateUrls"] is False
    changed = api.patch("/account", json={"allowPrivateUrls": True, "timezone": "Pacific/Auckland"})
    assert changed.status_code == 200
    assert changed.json()["allowPrivateUrls"] is True
    assert api.get("/account").json()["timezone"] == "Pacific/Auckland"


def test_settings_of_one_account_do_not_leak(api: Api, other_api: Api) -> None:
    api.patch("/account", json={"name": "Renamed"})
    assert other_api.get("/account").json()["name"] != "Renamed"


def test_bad_settings_are_refused_naming_the_field(api: Api) -> None:
    for body, field in [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"allowPrivateUrls": "yes please"}, "allowPrivateUrls"),
        ({"name": ""}, "name"),
        ({"plan": "gold"}, "plan"),
    ]:
        answer = api.patch("/account", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["details"][0]["field"] == field
    assert api.get("/account").json()["timezone"] == "UTC"


def test_a_key_without_admin_rights_cannot_change_settings(system: Tidings, api: Api) -> None:
    key = system.db.write(
        lambda conn: accounts.create_key(
            conn, account_id=api.account_id, name="reader", admin=False, now=0
        )
    )
    plain = {"Authorization": f"Bearer {key}"}
    assert api.client.get("/api/v1/account", headers=plain).status_code == 200
    refused = api.client.patch("/api/v1/account", json={"name": "x"}, headers=plain)
    assert refused.status_code == 403


def test_keys_are_stored_hashed(system: Tidings, api: Api) -> None:
    from sqlalchemy import select

    from tidings.store.tables import api_keys

    with system.db.read() as conn:
        hashes = conn.execute(
            select(api_keys.c.key_hash).where(api_keys.c.account_id == api.account_id)
        ).scalars()
        stored = list(hashes)
    assert api.key not in stored
    assert accounts.hash_key(api.key) in stored


def test_the_mep_subscription_is_a_setting_of_the_account(api: Api, other_api: Api) -> None:
    assert api.get("/account").json()["mepSubscription"] is None
    changed = api.patch("/account", json={"mepSubscription": 50000})
    assert changed.status_code == 200, changed.text
    assert api.get("/account").json()["mepSubscription"] == 50000
    assert other_api.get("/account").json()["mepSubscription"] is None
    for bad in (-1, "many", 1.5, 10**13):
        refused = api.patch("/account", json={"mepSubscription": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == "mepSubscription"
    assert api.get("/account").json()["mepSubscription"] == 50000  # nothing changed
    assert api.patch("/account", json={"mepSubscription": 0}).json()["mepSubscription"] is None
