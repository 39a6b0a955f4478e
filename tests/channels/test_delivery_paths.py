"""A delivery callback is applied set-based when it is the commonest kind (every report
`delivered` at one price, once a message, of messages whose reports nobody waits for:
`deliveries._record_plain`), else report by report (`_record_each`). Both must leave the
store the same: the messages' statuses and prices, their people's events, the traffic
cost and channel figures, the inbox. Each example applies one callback both ways, each in
a savepoint rolled back after its snapshot, over messages sent through the Infobip
stand-in: some priced by the account's table, one already delivered, one of a person
waiting in another flow, two a failover that gave up still asks a result of, one of a
deleted person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from tests.api.flows.helpers import launched
from tests.channels.test_infobip_flow import FAILOVER, ONE_SMS, connect, delivery_path, enter
from tests.conftest import Api
from tests.engine.test_journeys import drain
from tests.support.background import started
from tidings.bootstrap import Tidings
from tidings.channels.providers import Report
from tidings.channels.standins.infobip import InfobipStandin
from tidings.domain.errors import NotFound
from tidings.engine.interest import QuietReports
from tidings.services import deliveries
from tidings.store import connections
from tidings.store.connections import ConnectionRow
from tidings.store.tables import WAITING as WAITING_PHASE

KEY = "infobip-test-key"
WAITING = {
    "name": "Waits a day",
    "entry": {"type": "api"},
    "elements": [{"id": "w", "type": "wait", "duration": "P1D"}],
}
ON_DELIVERED = {
    "name": "On a delivery",
    "entry": {"type": "event", "event": "message.delivered"},
    "elements": [{"id": "w", "type": "wait", "duration": "P1D"}],
}
NOW = 1_900_000_000_000_000


@pytest.fixture
def standin() -> Iterator[InfobipStandin]:
    held = InfobipStandin(api_key=KEY, report_delay=3600)  # the test posts the reports
    with started(held):
        yield held


def _launched(api: Api, document: dict[str, Any]) -> int:
    return int(launched(api, document)["id"])


class Made(NamedTuple):
    """The store `_store` makes: the connection's messages in id order, and by role."""

    ids: list[int]
    plain: list[int]  # Croatian numbers: 0.04 a message by the account's table
    uk: int  # 0.05, the table's default
    deleted: int  # its person deleted since
    delivered: int  # reported delivered already
    waiting: int  # its person waits in another flow
    failover: list[int]  # the attempts of a failover that gave up: a result is asked


def _store(system: Tidings, api: Api, standin: InfobipStandin, *, loud: bool) -> Made:
    prices = {"prices": {"sms": {"default": 0.05, "HR": 0.04}}}
    assert api.patch("/account", json=prices).status_code == 200
    connection = connect(api, standin)
    sms = _launched(api, ONE_SMS)
    waiting = _launched(api, WAITING)
    failover = _launched(api, FAILOVER)
    if loud:
        _launched(api, ON_DELIVERED)
    people = [enter(api, sms, f"p{i}", f"+38591{i:07d}")["id"] for i in range(6)]
    uk = enter(api, sms, "uk", "+447911123456")["id"]
    answer = api.post(f"/flows/{waiting}/participants", json={"person": {"externalId": "p1"}})
    assert answer.status_code < 300, answer.text
    whatsapp = enter(api, failover, "f", "+385910000099")["id"]
    # the failover waits an hour for each attempt's report, none comes, and it gives up:
    # its two messages are still `sent` and a result is still asked of them, while their
    # person waits in no flow any more
    drain(api)
    drain(api, "PT1H")
    drain(api, "PT1H")
    with system.db.read() as conn:
        of = {
            (int(person), str(channel)): int(oid)
            for oid, person, channel in conn.exec_driver_sql(
                "SELECT id, person_id, channel FROM outbox WHERE account_id = "
                f"{int(api.account_id)} AND connection_id IS NOT NULL AND status = 'sent'"
            ).all()
        }
        done = conn.exec_driver_sql(
            "SELECT count(*) FROM participations WHERE account_id = "
            f"{int(api.account_id)} AND person_id = {int(whatsapp)} AND phase = {WAITING_PHASE}"
        ).scalar()
    assert len(of) == 9, of
    assert done == 0
    made = Made(
        ids=sorted(of.values()),
        plain=[of[(people[i], "sms")] for i in (0, 2, 3, 4)],
        uk=of[(uk, "sms")],
        deleted=of[(people[5], "sms")],
        delivered=of[(people[0], "sms")],
        waiting=of[(people[1], "sms")],
        failover=[of[(whatsapp, "whatsapp")], of[(whatsapp, "sms")]],
    )
    made.plain.remove(made.delivered)
    status = {"groupName": "DELIVERED", "name": "DELIVERED_TO_HANDSET"}
    body = {"results": [{"messageId": str(made.delivered), "status": status}]}
    assert api.client.post(delivery_path(connection), json=body).status_code == 200
    assert api.delete(f"/people/{people[5]}").status_code == 204
    return made


def _snapshot(conn: Connection, account: int) -> dict[str, list[Any]]:
    def rows(sql: str) -> list[Any]:
        return sorted(tuple(str(v) for v in r) for r in conn.exec_driver_sql(sql).all())

    where = f"WHERE account_id = {int(account)}"
    return {
        "outbox": rows(f"SELECT id, status, done_at, reason, price FROM outbox {where}"),
        "events": rows(f"SELECT person_id, name, properties, time FROM events {where}"),
        "counters": rows(
            f"SELECT flow_id, version, element, name, value FROM flow_counters {where}"
        ),
        "series": rows(f"SELECT flow_id, version, hour, name, value FROM flow_series {where}"),
        "inbox": rows(f"SELECT partition, person_id, kind, payload FROM inbox {where}"),
    }


Applied = tuple[Any, dict[str, list[Any]]]  # the answer, and the store after it


def _both(
    system: Tidings, connection: ConnectionRow, reports: list[Report], account: int
) -> tuple[dict[str, list[Any]], Applied, Applied]:
    """The store before, and the callback applied report by report and set-based (its
    answer None when it declined the callback), each rolled back after its snapshot."""
    ids = [int(r.message_id) for r in reports]

    def apply(conn: Connection) -> tuple[dict[str, list[Any]], Applied, Applied]:
        before = _snapshot(conn, account)
        out: list[Applied] = []
        for plain in (False, True):
            point = conn.begin_nested()
            answer: Any
            try:
                if plain:
                    answer = deliveries._record_plain(
                        conn, connection, reports, ids, NOW, QuietReports()
                    )
                else:
                    answer = deliveries._record_each(
                        conn, connection, reports, ids, NOW, partitions=8, quiet=QuietReports()
                    )
            except NotFound:
                answer = "not found"
            out.append((answer, _snapshot(conn, account)))
            point.rollback()
        return before, out[0], out[1]

    result: tuple[dict[str, list[Any]], Applied, Applied] = system.db.write(apply)
    return result


def _connection(system: Tidings, api: Api) -> ConnectionRow:
    with system.db.read() as conn:
        (found,) = conn.exec_driver_sql(
            f"SELECT id FROM connections WHERE account_id = {int(api.account_id)}"
        ).all()
        return connections.by_ids(conn, [int(found[0])])[int(found[0])]


_made: dict[tuple[str, int], Made] = {}


def _once(system: Tidings, api: Api, standin: InfobipStandin) -> Made:
    """The store of `_store`, made once for the test's account (the examples roll back)."""
    key = (system.db.dialect, api.account_id)  # one account a test and database
    if key not in _made:
        _made[key] = _store(system, api, standin, loud=False)
    return _made[key]


UNKNOWN = 999_999_999  # no message of this connection
PRICE = st.sampled_from([None, 0.01, 0.05])


STATUS = st.sampled_from(["delivered", "pending", "failed"])
Odd = tuple[int, str, float | None] | None  # one report of another status or price


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picked=st.lists(st.integers(0, 9), min_size=1, max_size=10),
    price=PRICE,
    odd=st.none() | st.tuples(st.integers(0, 9), STATUS, PRICE),
)
# the messages by role (`_store`'s): 0 plain, 1 the UK's, 2 the deleted person's, 3
# delivered already, 4 of a waiting person, 5 and 6 the failover's, 7 not the connection's
@example(picked=[0, 1, 2], price=0.01, odd=None)
@example(picked=[0, 3], price=0.01, odd=None)
@example(picked=[0, 4], price=None, odd=None)
@example(picked=[5, 0], price=0.05, odd=None)
@example(picked=[6], price=None, odd=None)
@example(picked=[0, 7], price=0.01, odd=None)
@example(picked=[0, 0], price=0.01, odd=None)
@example(picked=[0, 1], price=0.01, odd=(1, "delivered", 0.05))
@example(picked=[0, 1], price=0.01, odd=(0, "pending", 0.01))
@example(picked=[0, 1], price=None, odd=(1, "failed", None))
def test_a_callback_changes_the_store_alike_set_based_or_report_by_report(
    system: Tidings,
    api: Api,
    standin: InfobipStandin,
    picked: list[int],
    price: float | None,
    odd: Odd,
) -> None:
    made = _once(system, api, standin)
    # role first (the examples'), then the rest of the connection's messages
    roles = [made.plain[0], made.uk, made.deleted, made.delivered, made.waiting,
             *made.failover, UNKNOWN]  # fmt: skip
    targets = roles + [i for i in made.ids if i not in roles]
    reports = [Report(str(targets[i]), "delivered", None, price, "EUR") for i in picked]
    if odd is not None:  # nearly the commonest callback: one report of another kind
        at, status, other = odd
        at %= len(reports)
        reports[at] = Report(reports[at].message_id, status, None, other, "EUR")  # type: ignore[arg-type]
    before, each, plain = _both(system, _connection(system, api), reports, api.account_id)
    named = {int(r.message_id) for r in reports}
    one_by_one = {UNKNOWN, made.delivered, made.waiting, *made.failover}
    alike = len({r[1:] for r in reports}) == 1 and reports[0].status == "delivered"
    if alike and len(named) == len(reports) and not named & one_by_one:
        assert plain[0] == len(reports)  # taken set-based
    if plain[0] is not None:
        assert plain == each
    else:  # declined, nothing written: the callback is the other path's
        assert plain[1] == before


def test_a_plain_callback_is_applied_set_based(
    system: Tidings, api: Api, standin: InfobipStandin
) -> None:
    made = _store(system, api, standin, loud=False)
    sent = [*made.plain, made.deleted, made.uk]
    reports = [Report(str(i), "delivered", None, 0.01, "EUR") for i in sent]
    before, each, plain = _both(system, _connection(system, api), reports, api.account_id)
    assert plain[0] == len(sent) == 5
    assert plain == each
    after = plain[1]
    delivered = {int(r[0]) for r in after["outbox"] if r[1] == "delivered"}
    assert delivered == {*sent, made.delivered}
    assert {r[4] for r in after["outbox"] if int(r[0]) in sent} == {"0.01"}  # the provider's
    new = [e for e in after["events"] if e not in before["events"]]
    assert [e[1] for e in new] == ["message.delivered"] * 4  # none for the deleted person

    def counter(snapshot: dict[str, list[Any]], element: str, name: str) -> int:
        found = [int(c[4]) for c in snapshot["counters"] if c[2] == element and c[3] == name]
        return sum(found)

    # the provider's 0.01 replaces the table's price: 0.04 (Croatia) four times, 0.05 once
    cost = counter(after, "s", "trafficCostMicros") - counter(before, "s", "trafficCostMicros")
    assert cost == 4 * (10_000 - 40_000) + (10_000 - 50_000)
    figure = counter(after, "", "channel.sms.delivered") - counter(
        before, "", "channel.sms.delivered"
    )
    assert figure == 5


def test_a_callback_to_a_flow_that_enters_on_deliveries_is_applied_report_by_report(
    system: Tidings, api: Api, standin: InfobipStandin
) -> None:
    made = _store(system, api, standin, loud=True)
    reports = [Report(str(i), "delivered", None, None, "EUR") for i in made.plain]
    before, each, plain = _both(system, _connection(system, api), reports, api.account_id)
    assert plain[0] is None  # the reports are stimuli of a live flow: the inbox's
    assert plain[1] == before
    stimuli = [r for r in each[1]["inbox"] if r not in before["inbox"]]
    assert len(stimuli) == len(made.plain) == 3
