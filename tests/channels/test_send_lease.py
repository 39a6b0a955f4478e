"""A claim's answers are fenced by its lease: an answer settled after the lease ended and
the row was claimed again changes nothing of the new try (else the late answer would put
the message back to `pending` under the new try, whose `accepted` would then find nothing
to settle, and the message would go a third time). A message released `later` (a paced
connection had no turn for it) is due again at once, its try not counted. The due rows
a claim reads outside the writer's lock (SQLite) are checked again in the write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from tests.conftest import Api
from tidings.bootstrap import Tidings
from tidings.channels.providers import SendResult
from tidings.engine import sending
from tidings.store import provider_outbox
from tidings.store.tables import outbox

LEASE = 2_000_000
T0 = 1_900_000_000_000_000


def pending_message(system: Tidings, api: Api, **flow: Any) -> int:
    made = api.post(
        "/connections",
        json={"name": "Lease", "provider": "infobip",
              "settings": {"baseUrl": "https://api.infobip.com", "apiKey": "k"}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    payload = {"to": "+385911234567", "from": "Shop", "content": {"text": "Hi"}, "parts": 1}

    values = {"account_id": api.account_id, "kind": "message", "channel": "sms",
              "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": T0,
              "created_at": T0, "connection_id": made.json()["id"], **flow}  # fmt: skip

    def write(conn: Any) -> int:
        return int(conn.execute(insert(outbox).values(values).returning(outbox.c.id)).scalar_one())

    return system.db.write(write)


def row(system: Tidings, oid: int) -> tuple[str, int, int]:
    with system.db.read() as conn:
        found = conn.execute(
            select(outbox.c.status, outbox.c.attempts, outbox.c.next_attempt_at).where(
                outbox.c.id == oid
            )
        ).one()
    return str(found[0]), int(found[1]), int(found[2])


def claim(system: Tidings, api: Api, at: int) -> sending.Claimed:
    rows = system.db.write(lambda conn: sending.claim(conn, due(conn, at), at))
    mine = [r for r in rows if r.account_id == api.account_id]
    assert len(mine) == 1
    return mine[0]


def due(conn: Any, at: int) -> list[sending.Claimed]:
    return provider_outbox.due(conn, at, limit=100000, owned=None, partitions=1, lease=LEASE)


def settle(system: Tidings, at: int, claimed: sending.Claimed, result: SendResult) -> None:
    done = [(claimed, result, "infobip")]
    system.db.write(lambda conn: sending.settle(conn, at, done, partitions=1))


def test_a_late_answer_changes_nothing_of_the_try_that_claimed_the_row_again(
    system: Tidings, api: Api
) -> None:
    oid = pending_message(system, api)
    first = claim(system, api, T0)
    assert row(system, oid) == ("sending", 1, T0 + LEASE)
    # the lease ends before the first try is answered: the row is claimed again
    second = claim(system, api, T0 + LEASE + 1)
    assert second.unknown_since == T0  # when the first try was claimed
    assert row(system, oid) == ("sending", 2, T0 + 2 * LEASE + 1)

    for late in ("retry", "failed", "accepted"):
        settle(system, T0 + LEASE + 2, first, SendResult(str(oid), late, "late"))  # type: ignore[arg-type]
        assert row(system, oid) == ("sending", 2, T0 + 2 * LEASE + 1), late

    settle(system, T0 + LEASE + 3, second, SendResult(str(oid), "accepted"))
    assert row(system, oid) == ("sent", 2, T0 + LEASE + 3)


def test_a_message_released_later_is_due_again_at_once_its_try_not_counted(
    system: Tidings, api: Api
) -> None:
    oid = pending_message(system, api)
    first = claim(system, api, T0)
    settle(system, T0 + 5, first, SendResult(str(oid), "later"))
    assert row(system, oid) == ("pending", 0, T0 + 5)
    second = claim(system, api, T0 + 5)
    assert second.unknown_since is None  # never handed over: nothing to look up
    settle(system, T0 + 6, second, SendResult(str(oid), "accepted"))
    assert row(system, oid) == ("sent", 1, T0 + 6)


def test_a_row_that_changed_after_the_claim_read_it_is_not_claimed(
    system: Tidings, api: Api
) -> None:
    """SQLite reads due rows outside the write: a row another claim took in between is
    left to it, and the others are claimed."""
    first, second = pending_message(system, api), pending_message(system, api)
    with system.db.read() as conn:
        read = [r for r in due(conn, T0) if r.account_id == api.account_id]
    assert {r.id for r in read} == {first, second}
    other = [r for r in read if r.id == first]
    assert [r.id for r in system.db.write(lambda conn: sending.claim(conn, other, T0))] == [first]
    # the first is the other claim's now; a later claim read before it takes the second
    later = [r._replace(leased_until=T0 + 1 + LEASE) for r in read]
    claimed = system.db.write(lambda conn: sending.claim(conn, later, T0 + 1))
    assert [r.id for r in claimed] == [second]
    assert row(system, first) == ("sending", 1, T0 + LEASE)
    assert row(system, second) == ("sending", 1, T0 + 1 + LEASE)


def traffic_cost(system: Tidings, flow: int) -> int:
    with system.db.read() as conn:
        found = conn.exec_driver_sql(
            "SELECT coalesce(sum(value), 0) FROM flow_counters WHERE flow_id = "
            f"{int(flow)} AND element = '' AND name = 'trafficCostMicros'"
        ).scalar()
    return int(found or 0)


def priced_message(system: Tidings, api: Api) -> tuple[int, int]:
    """A flow's message waiting for its provider, 0.05 by the account's price table."""
    prices = {"prices": {"sms": {"default": 0.05}}}
    assert api.patch("/account", json=prices).status_code == 200
    sms = {"id": "s", "type": "send_sms", "from": "Shop", "text": "Hi"}
    document = {"name": "Cost", "entry": {"type": "api"}, "elements": [sms]}
    flow = int(api.post("/flows", json=document).json()["id"])
    return flow, pending_message(system, api, flow_id=flow, version=1, element="s")


def test_a_late_answer_of_a_try_claimed_again_does_not_count_the_cost_twice(
    system: Tidings, api: Api
) -> None:
    flow, oid = priced_message(system, api)
    first = claim(system, api, T0)
    second = claim(system, api, T0 + LEASE + 1)  # the first try's lease ended unanswered
    settle(system, T0 + LEASE + 2, first, SendResult(str(oid), "accepted"))  # too late
    assert traffic_cost(system, flow) == 0
    settle(system, T0 + LEASE + 3, second, SendResult(str(oid), "accepted"))
    assert row(system, oid) == ("sent", 2, T0 + LEASE + 3)
    assert traffic_cost(system, flow) == 50_000  # 0.05 once, by the account's table
    # the try's answer settled twice (a settle retried) counts nothing more
    settle(system, T0 + LEASE + 4, second, SendResult(str(oid), "accepted"))
    assert traffic_cost(system, flow) == 50_000


def test_an_answer_settled_after_the_report_came_counts_the_cost(system: Tidings, api: Api) -> None:
    """The provider reported the message before its answer was settled (it calls back at
    once): the answer is still this try's, and the message costs what the table says."""
    flow, oid = priced_message(system, api)
    first = claim(system, api, T0)
    report = [("delivered", T0 + 1, None, None, oid)]
    system.db.write(lambda conn: provider_outbox.finish(conn, report, leaving=provider_outbox.OPEN))
    settle(system, T0 + 2, first, SendResult(str(oid), "accepted"))
    assert row(system, oid) == ("delivered", 1, T0 + LEASE)
    assert traffic_cost(system, flow) == 50_000
