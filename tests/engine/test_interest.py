"""Ingest queues for the engine only the events a live flow can react to."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.flows.helpers import cart, launched
from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.engine.interest import Interest, names_of
from tidings.store.tables import inbox


def test_names_of_a_document() -> None:
    assert names_of(cart()) == {"CartAbandoned", "PurchaseFinished", "message.*"}
    assert names_of({"entry": {"type": "api"}, "elements": []}) == set()


def test_interest_matches_message_events_by_family() -> None:
    interest = Interest()
    interest.update({(1, "Bought"), (1, "message.*")})
    assert interest.wants(1, "Bought")
    assert interest.wants(1, "message.clicked")
    assert not interest.wants(2, "Bought")
    assert not interest.wants(1, "Visited")
    assert Interest(everything=True).wants(9, "anything")


def queued(system: Tidings, api: Api) -> int:
    with system.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(inbox).where(inbox.c.account_id == api.account_id)
            ).scalar_one()
        )


def test_events_no_flow_wants_are_history_only(system: Tidings, api: Api) -> None:
    api.post("/event-definitions", json={"name": "Visited"})
    launched(api)  # starts on CartAbandoned
    api.post("/events", json={"person": {"externalId": "v"}, "name": "Visited"})
    expected = 1 if system.db.dialect == "postgresql" else 0  # PostgreSQL queues everything
    assert queued(system, api) == expected
    api.post(
        "/events",
        json={
            "person": {"externalId": "v"},
            "name": "CartAbandoned",
            "properties": {"cartValue": 1},
        },
    )
    assert queued(system, api) == expected + 1
