"""Documents and set-up shared by the flow API tests."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import Api
from tests.support.documents import DESIGN_EXAMPLE

CART: dict[str, Any] = DESIGN_EXAMPLE


def cart(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CART)
    doc.update(changes)
    return doc


def define_events(api: Api) -> None:
    for name, props in [
        ("CartAbandoned", {"cartValue": "decimal"}),
        ("PurchaseFinished", {"amount": "decimal"}),
    ]:
        answer = api.post("/event-definitions", json={"name": name, "properties": props})
        assert answer.status_code in (201, 409), answer.text


def new_flow(api: Api, document: dict[str, Any] | None = None) -> dict[str, Any]:
    define_events(api)
    answer = api.post("/flows", json=document or cart())
    assert answer.status_code == 201, answer.text
    flow: dict[str, Any] = answer.json()
    return flow


def launched(api: Api, document: dict[str, Any] | None = None) -> dict[str, Any]:
    flow = new_flow(api, document)
    answer = api.post(f"/flows/{flow['id']}/launch")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result
