"""Traffic cost: the account's price table prices each message part by channel and the
recipient's country; a provider's reported price replaces the table's; `trafficCost` sums
them per flow and element."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.flows.helpers import launched
from tests.channels.test_infobip_flow import KEY, connect
from tests.conftest import Api
from tests.engine.test_journeys import drain, perf
from tests.support.background import Background, started
from tidings.channels.standins.infobip import InfobipStandin

SMS = {
    "name": "Priced",
    "entry": {"type": "api"},
    "elements": [{"id": "s", "type": "send_sms", "from": "Shop", "text": "Hello"}],
}
PRICES = {"sms": {"default": 0.05, "HR": 0.04}, "email": 0.001}


def enter(api: Api, flow: int, external_id: str, phone: str) -> None:
    person = {"externalId": external_id, "phones": [phone]}
    assert api.post(f"/flows/{flow}/participants", json={"person": person}).status_code < 300


def test_the_price_table_prices_sandbox_messages_by_country(api: Api) -> None:
    changed = api.patch("/account", json={"prices": PRICES})
    assert changed.status_code == 200, changed.text
    assert changed.json()["prices"] == PRICES
    flow = launched(api, SMS)["id"]
    enter(api, flow, "hr", "+385911234567")
    enter(api, flow, "de", "+4915123456789")
    drain(api)
    figures = perf(api, flow)
    assert figures["flow"]["trafficCost"] == pytest.approx(0.09)
    assert figures["elements"]["s"]["trafficCost"] == pytest.approx(0.09)


def test_a_bad_price_table_is_refused_naming_the_field(api: Api) -> None:
    bad = api.patch("/account", json={"prices": {"sms": {"hr": 0.1}, "fax": 1}})
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert fields == {"prices.sms.hr", "prices.fax"}
    negative = api.patch("/account", json={"prices": {"email": -1}})
    assert negative.status_code == 422
    assert api.get("/account").json()["prices"] == {}


@pytest.fixture
def infobip() -> Iterator[tuple[InfobipStandin, Background]]:
    standin = InfobipStandin(api_key=KEY, price=0.013, report_delay=1.0)
    with started(standin) as background:
        yield standin, background


def test_a_providers_price_replaces_the_tables(
    api: Api, infobip: tuple[InfobipStandin, Background]
) -> None:
    standin, background = infobip
    assert api.patch("/account", json={"prices": PRICES}).status_code == 200
    connect(api, standin)
    flow = launched(api, SMS)["id"]
    enter(api, flow, "hr", "+385911234567")
    drain(api)
    assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.04)  # the table's
    background.run(standin.drain())
    drain(api)
    assert perf(api, flow)["flow"]["trafficCost"] == pytest.approx(0.013)  # Infobip's
