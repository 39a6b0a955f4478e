"""The virtual clock over the API."""

from __future__ import annotations

from tests.conftest import Api


def test_virtual_clock_moves_only_forward_when_told(api: Api) -> None:
    start = api.get("/clock").json()
    assert start["virtual"] is True
    moved = api.post("/clock/advance", json={"by": "P1D"})
    assert moved.status_code == 200
    assert moved.json()["now"] > start["now"]
    same = api.post("/clock/advance", json={"by": "PT0S"}).json()
    assert same["now"] == moved.json()["now"]
    back = api.post("/clock/advance", json={"to": "2020-01-01T00:00:00Z"})
    assert back.status_code == 422


def test_clock_advance_bad_input(api: Api) -> None:
    for body, field in [
        ({"by": "one day"}, "by"),
        ({"to": "tomorrow"}, "to"),
        ({}, "by"),
        ({"by": "P1D", "to": "2030-01-01T00:00:00Z"}, "by"),
        ({"by": "P99999999D"}, "by"),
    ]:
        answer = api.post("/clock/advance", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["details"][0]["field"] == field


def test_health_needs_no_key(api: Api) -> None:
    answer = api.client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
