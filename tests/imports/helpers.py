"""Set-up shared by the SFTP import tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tidings.channels.standins.sftp import SftpStandin


def allow_private(api: Api) -> None:
    assert api.patch("/account", json={"allowPrivateUrls": True}).status_code == 200


def connection(server: SftpStandin, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "crm",
        "host": "127.0.0.1",
        "port": server.port,
        "username": server.username,
        "password": server.password,
        "hostKey": server.host_key,
    }
    body.update(over)
    return body


def connect(api: Api, server: SftpStandin, **over: Any) -> dict[str, Any]:
    allow_private(api)
    made = api.post("/sftp-connections", json=connection(server, **over))
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def flow(path: str = "/in/*.csv", every: str = "PT1H", name: str = "crm") -> dict[str, Any]:
    return {
        "name": "Imported people",
        "entry": {"type": "sftp", "connection": name, "path": path, "every": every},
        "variables": [{"name": "coupon", "type": "text"}],
        "elements": [
            {
                "id": "sms1",
                "type": "send_sms",
                "from": "Shop",
                "text": "Hi {{ person.firstName }} {{ coupon }}",
            }
        ],
    }


def launch(api: Api, document: dict[str, Any]) -> int:
    made = api.post("/flows", json=document)
    assert made.status_code == 201, made.text
    launched = api.post(f"/flows/{made.json()['id']}/launch")
    assert launched.status_code == 200, launched.text
    return int(made.json()["id"])


def advance(api: Api, by: str = "PT0S") -> None:
    answer = api.post("/clock/advance", json={"by": by})
    assert answer.status_code == 200, answer.text


def imports(api: Api, flow_id: int) -> list[dict[str, Any]]:
    answer = api.get(f"/flows/{flow_id}/imports")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def sms(api: Api, flow_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(
        "/sandbox/messages", params={"flow": flow_id, "limit": 1000}
    ).json()["items"]
    return items


def person(api: Api, **query: str) -> dict[str, Any] | None:
    found = api.get("/people", params=query).json()["items"]
    return found[0] if found else None
