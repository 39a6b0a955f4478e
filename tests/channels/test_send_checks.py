"""What validation says about a send's way out: its `connection` must be one of the
account's and carry the element's channel; an SMS sender is a number or at most 11
letters and digits, as carriers take it."""

from __future__ import annotations

from typing import Any

from tests.api.flows.helpers import new_flow
from tests.conftest import Api


def problems(api: Api, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flow = new_flow(api, {"name": "Checks", "entry": {"type": "api"}, "elements": elements})
    answer = api.post(f"/flows/{flow['id']}/validate")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["problems"]
    return found


def test_a_send_names_a_connection_of_the_account_that_carries_its_channel(
    api: Api, other_api: Api
) -> None:
    mail = api.post(
        "/connections",
        json={"name": "Mail", "provider": "smtp", "settings": {"host": "smtp.example.com"}},
    ).json()
    theirs = other_api.post(
        "/connections",
        json={"name": "Theirs", "provider": "smtp", "settings": {"host": "smtp.example.com"}},
    ).json()
    sms = {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"}
    wrong_channel = problems(api, [{**sms, "connection": mail["id"]}])
    assert [(p["element"], p["field"]) for p in wrong_channel] == [("s", "connection")]
    assert "does not carry sms" in wrong_channel[0]["message"]
    foreign = problems(api, [{**sms, "connection": theirs["id"]}])
    assert [(p["element"], p["field"]) for p in foreign] == [("s", "connection")]
    email = {
        "id": "e",
        "type": "send_email",
        "from": "a@example.com",
        "subject": "S",
        "html": "<p>x</p>",
        "connection": mail["id"],
    }
    assert problems(api, [email]) == []
    failover = {
        "id": "f",
        "type": "failover",
        "attempts": [
            {
                "type": "send_email",
                "from": "a@example.com",
                "subject": "S",
                "html": "x",
                "connection": mail["id"],
            },
            {"type": "send_sms", "from": "Shop", "text": "x", "connection": mail["id"]},
        ],
    }
    found = problems(api, [failover])
    assert [(p["element"], p["field"]) for p in found] == [("f", "attempts.1.connection")]


def test_an_sms_sender_is_a_number_or_a_short_alphanumeric_id(api: Api) -> None:
    def sender(value: str) -> list[str]:
        found = problems(api, [{"id": "s", "type": "send_sms", "from": value, "text": "Hi"}])
        return [p["field"] for p in found]

    assert sender("ShopCo") == []
    assert sender("+385911234567") == []
    assert sender("38591") == []
    assert sender("TooLongSenderName") == ["from"]
    assert sender("Shop!") == ["from"]
    assert sender("123456789012345678") == ["from"]
