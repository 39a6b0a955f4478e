"""Templates: the predefined ones validate clean; any flow can be saved as one."""

from __future__ import annotations

import pytest

from tests.api.flows.helpers import new_flow
from tests.conftest import Api
from tidings.services.templates import predefined

PREDEFINED = sorted(predefined())


def test_the_five_predefined_templates_are_listed(api: Api) -> None:
    names = {t["name"] for t in api.get("/templates").json()["items"] if t["predefined"]}
    assert names == {
        "welcome-message",
        "appointment-reminder",
        "cart-abandonment",
        "birthday-greeting",
        "win-back",
    }


@pytest.mark.parametrize("name", PREDEFINED)
def test_each_predefined_template_starts_a_draft_that_validates_and_launches(
    api: Api, name: str
) -> None:
    created = api.post("/flows", json={"template": name})
    assert created.status_code == 201, created.text
    flow = created.json()
    assert flow["status"] == "draft"
    assert api.post(f"/flows/{flow['id']}/validate").json() == {"problems": []}
    assert api.post(f"/flows/{flow['id']}/launch").status_code == 200


def test_save_a_flow_as_a_template_and_start_from_it(api: Api, other_api: Api) -> None:
    flow = new_flow(api)
    saved = api.post("/templates", json={"name": "Our cart flow", "flow": flow["id"]})
    assert saved.status_code == 201
    started = api.post("/flows", json={"template": "Our cart flow"}).json()
    assert started["document"] == flow["document"]
    assert "Our cart flow" not in {t["name"] for t in other_api.get("/templates").json()["items"]}
    assert other_api.post("/flows", json={"template": "Our cart flow"}).status_code == 404
    assert (
        api.post("/templates", json={"name": "Our cart flow", "flow": flow["id"]}).status_code
        == 409
    )
    assert api.delete("/templates/Our cart flow").status_code == 204
    assert api.delete("/templates/win-back").status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"template": "no-such-template"}, 404),
        ({"template": 5}, 422),
        ({"template": "win-back", "name": "x"}, 422),
    ],
)
def test_bad_template_requests(api: Api, body: dict[str, object], status: int) -> None:
    assert api.post("/flows", json=body).status_code == status


def test_bad_template_saves(api: Api) -> None:
    assert api.post("/templates", json={"name": "x"}).status_code == 422
    assert api.post("/templates", json={"name": "x", "flow": 1, "document": {}}).status_code == 422
    assert api.post("/templates", json={"name": "x", "flow": 999999}).status_code == 404
    bad = api.post("/templates", json={"name": "x", "document": {"elements": [{"id": "a"}]}})
    assert bad.status_code == 422
