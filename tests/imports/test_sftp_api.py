"""`/sftp-connections` and the sftp entry's checks through the public API: admin keys
only, secrets write-only, the host key pinned, the private-address guard, 422 naming the
field, other accounts' connections and flows not found."""

from __future__ import annotations

from typing import Any

import asyncssh

from tests.conftest import Api
from tests.imports.helpers import allow_private, connect, connection, flow, imports, launch
from tidings.bootstrap import Tidings
from tidings.channels.standins.sftp import SftpStandin
from tidings.store import accounts


def fields(answer: Any) -> list[str]:
    return [d["field"] for d in answer.json()["error"]["details"]]


def test_a_connection_never_answers_its_secret(api: Api, sftp: SftpStandin) -> None:
    made = connect(api, sftp)
    assert made["password"] == "set"
    assert made["privateKey"] is None
    assert made["hostKey"] == sftp.host_key
    assert (made["host"], made["port"], made["username"]) == ("127.0.0.1", sftp.port, "crm")
    for answer in (
        api.get(f"/sftp-connections/{made['id']}"),
        api.get("/sftp-connections"),
        api.patch(f"/sftp-connections/{made['id']}", json={"name": "crm2"}),
    ):
        assert answer.status_code == 200, answer.text
        assert sftp.password not in answer.text
    listed = api.get("/sftp-connections").json()
    assert [c["name"] for c in listed["items"]] == ["crm2"]
    assert listed["items"][0]["password"] == "set"  # a change without it kept it


def test_a_private_key_replaces_the_password(api: Api, sftp: SftpStandin) -> None:
    made = connect(api, sftp)
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    changed = api.patch(f"/sftp-connections/{made['id']}", json={"privateKey": key})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["password"], changed.json()["privateKey"]) == (None, "set")
    assert "PRIVATE KEY" not in changed.text
    bad = api.patch(f"/sftp-connections/{made['id']}", json={"privateKey": "not a key"})
    assert bad.status_code == 422
    assert fields(bad) == ["privateKey"]
    assert "not a key" not in bad.text


def test_bad_input_names_the_field(api: Api, sftp: SftpStandin) -> None:
    allow_private(api)
    body = connection(sftp)
    for missing in ("name", "host", "username", "hostKey"):
        answer = api.post("/sftp-connections", json={k: v for k, v in body.items() if k != missing})
        assert answer.status_code == 422, missing
        assert missing in fields(answer)[0]
    no_secret = api.post(
        "/sftp-connections", json={k: v for k, v in body.items() if k != "password"}
    )
    assert no_secret.status_code == 422
    assert fields(no_secret) == ["password"]
    both = api.post("/sftp-connections", json={**body, "privateKey": "x"})
    assert both.status_code == 422
    assert sftp.password not in both.text
    for field, value in (
        ("hostKey", "not a key"),
        ("port", 70000),
        ("port", "twenty-two"),
        ("host", "a b"),
        ("name", ""),
    ):
        answer = api.post("/sftp-connections", json={**body, field: value})
        assert answer.status_code == 422, (field, value)
        assert field in fields(answer)[0]
    unknown = api.post("/sftp-connections", json={**body, "color": "red"})
    assert unknown.status_code == 422
    assert api.get("/sftp-connections").json()["items"] == []  # nothing refused was written


def test_a_private_host_is_refused_unless_allowed(api: Api, sftp: SftpStandin) -> None:
    for host in ("127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254"):
        refused = api.post("/sftp-connections", json=connection(sftp, host=host))
        assert refused.status_code == 422, host
        assert fields(refused) == ["host"]
    allow_private(api)
    assert api.post("/sftp-connections", json=connection(sftp)).status_code == 201


def test_only_admin_keys_manage_connections(api: Api, system: Tidings, sftp: SftpStandin) -> None:
    made = connect(api, sftp)
    key = system.db.write(
        lambda conn: accounts.create_key(
            conn, account_id=api.account_id, name="app", admin=False, now=0
        )
    )
    plain = {"Authorization": f"Bearer {key}"}
    base = "/api/v1/sftp-connections"
    assert api.client.get(base, headers=plain).status_code == 403
    assert api.client.get(f"{base}/{made['id']}", headers=plain).status_code == 403
    assert api.client.post(base, json=connection(sftp), headers=plain).status_code == 403
    assert api.client.delete(f"{base}/{made['id']}", headers=plain).status_code == 403


def test_accounts_see_only_their_own(api: Api, other_api: Api, sftp: SftpStandin) -> None:
    made = connect(api, sftp)
    assert other_api.get(f"/sftp-connections/{made['id']}").status_code == 404
    assert other_api.patch(f"/sftp-connections/{made['id']}", json={"name": "x"}).status_code == 404
    assert other_api.delete(f"/sftp-connections/{made['id']}").status_code == 404
    assert other_api.get("/sftp-connections").json()["items"] == []
    # another account's connection, by name or id, is no connection of this account's
    for ref in ("crm", str(made["id"])):
        document = flow(name=ref)
        flow_id = other_api.post("/flows", json=document).json()["id"]
        refused = other_api.post(f"/flows/{flow_id}/launch")
        assert refused.status_code == 409, refused.text  # launch refuses as for any problem
        assert "entry.connection" in fields(refused)
    flow_id = launch(api, flow(name=str(made["id"])))  # by id in its own account
    assert other_api.get(f"/flows/{flow_id}/imports").status_code == 404
    assert imports(api, flow_id) == []
    api.post(f"/flows/{flow_id}/cancel")
    assert api.delete(f"/sftp-connections/{made['id']}").status_code == 204
    assert api.get(f"/sftp-connections/{made['id']}").status_code == 404
    assert api.get("/sftp-connections/99999999999").status_code == 404
    assert api.get("/sftp-connections/abc").status_code == 422


def test_an_sftp_entry_needs_its_connection_path_and_schedule(api: Api, sftp: SftpStandin) -> None:
    connect(api, sftp)
    for entry, field in (
        ({"type": "sftp", "path": "/in", "every": "PT1H"}, "entry.connection"),
        (
            {"type": "sftp", "connection": "nope", "path": "/in", "every": "PT1H"},
            "entry.connection",
        ),
        ({"type": "sftp", "connection": "crm", "every": "PT1H"}, "entry.path"),
        ({"type": "sftp", "connection": "crm", "path": "/in"}, "entry.every"),
        ({"type": "sftp", "connection": "crm", "path": "/in", "every": "PT1M"}, "entry.every"),
    ):
        document = {**flow(), "entry": entry}
        flow_id = api.post("/flows", json=document).json()["id"]
        checked = api.post(f"/flows/{flow_id}/validate")
        assert field in [p["field"] for p in checked.json()["problems"]], (entry, checked.text)
        refused = api.post(f"/flows/{flow_id}/launch")
        assert refused.status_code == 409  # the launch of a flow with problems
        assert field in fields(refused)
    answer = api.get("/flows/1/imports", params={"format": "xlsx"})
    assert answer.status_code == 422
