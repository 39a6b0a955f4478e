"""What an operator reads: `GET /metrics` (Prometheus text at the server's root, no key)
and `GET /api/v1/cluster` (admin keys), on both databases.

The session's system is shared by every test, so counters are compared before and
after, and gauges against the work a test queued itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tests.conftest import ADMIN_KEY, Api
from tests.support.metrics import Samples, parse, value
from tidings.bootstrap import Tidings
from tidings.domain.durations import format_micros, to_micros
from tidings.domain.journey import SendMessage
from tidings.store import accounts, changes, outbox

NAMES = [
    "tidings_events_ingested_total",
    "tidings_engine_rounds_total",
    "tidings_engine_round_seconds_bucket",
    "tidings_engine_round_seconds_count",
    "tidings_engine_round_seconds_sum",
    "tidings_due_backlog",
    "tidings_due_lag_seconds",
    "tidings_outbox_backlog",
    "tidings_provider_errors_total",
    "tidings_lease_changes_total",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
]
FLOW = {
    "name": "Metered",
    "entry": {"type": "event", "event": "Ping"},
    "elements": [
        # a loopback address the account does not allow: the call fails without an answer
        {
            "id": "hook",
            "type": "call_api",
            "method": "POST",
            "url": "http://127.0.0.1:9/hook",
            "next": {"success": "hi", "failure": "hi"},
        },
        {"id": "hi", "type": "send_sms", "from": "Shop", "text": "Hi"},
    ],
}


def scrape(api: Api) -> Samples:
    answer = api.client.get("/metrics")  # no key
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain"), answer.headers
    return parse(answer.text)


def drain(api: Api, by: str = "PT0S") -> None:
    assert api.post("/clock/advance", json={"by": by}).status_code == 200


def pings(api: Api, people: list[str]) -> None:
    answer = api.post(
        "/events", json=[{"person": {"externalId": x}, "name": "Ping"} for x in people]
    )
    assert answer.status_code == 202, answer.text
    assert {i["status"] for i in answer.json()["items"]} == {"accepted"}


def test_metrics_answer_prometheus_text_with_every_named_metric(api: Api) -> None:
    answer = api.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    openmetrics = api.client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    found = {name for name, _labels in parse(answer.text)}
    assert set(NAMES) <= found, set(NAMES) - found
    samples = parse(answer.text)
    for labels in ({"source": "inbox"}, {"source": "timers"}):
        value(samples, "tidings_due_backlog", **labels)
    for channel in ("sms", "email", "call_api"):
        value(samples, "tidings_outbox_backlog", channel=channel)
    for change in ("acquired", "released", "lost"):
        value(samples, "tidings_lease_changes_total", change=change)
    assert not api.client.get("/api/v1/metrics").is_success, "beside /api/v1, not under it"


def test_counters_move_when_events_come_and_the_clock_advances(api: Api) -> None:
    assert api.post("/event-definitions", json={"name": "Ping", "properties": {}}).is_success
    assert api.patch("/sandbox/settings", json={"delivered": 0}).is_success  # every SMS fails
    people = [{"externalId": f"m{i}", "phones": [f"+3859112300{i:02d}"]} for i in range(3)]
    assert api.post("/people/batch", json=people).status_code == 200
    flow = api.post("/flows", json=FLOW).json()["id"]
    assert api.post(f"/flows/{flow}/launch").status_code == 200
    drain(api)
    before = scrape(api)

    pings(api, ["m0", "m1", "m2"])
    queued = scrape(api)
    assert value(queued, "tidings_events_ingested_total") == (
        value(before, "tidings_events_ingested_total") + 3
    )
    assert value(queued, "tidings_due_backlog", source="inbox") >= 3, "not worked on yet"

    drain(api)
    after = scrape(api)
    assert value(after, "tidings_engine_rounds_total") > value(
        before, "tidings_engine_rounds_total"
    )
    rounds = value(after, "tidings_engine_round_seconds_count") - value(
        before, "tidings_engine_round_seconds_count"
    )
    assert rounds == value(after, "tidings_engine_rounds_total") - value(
        before, "tidings_engine_rounds_total"
    )
    assert value(after, "tidings_engine_round_seconds_bucket", le="+Inf") == value(
        after, "tidings_engine_round_seconds_count"
    )

    def errors(samples: Samples, provider: str, kind: str) -> float:
        return value(samples, "tidings_provider_errors_total", provider=provider, kind=kind)

    assert errors(after, "call_api", "transport") == errors(before, "call_api", "transport") + 3
    assert errors(after, "sandbox", "failed") == errors(before, "sandbox", "failed") + 3
    assert errors(after, "call_api", "http") == errors(before, "call_api", "http")
    assert [m["status"] for m in api.get("/sandbox/messages").json()["items"]] == ["failed"] * 3


def test_the_ingest_counter_leaves_out_refused_events(api: Api) -> None:
    assert api.post("/event-definitions", json={"name": "Ping", "properties": {}}).is_success
    before = value(scrape(api), "tidings_events_ingested_total")
    body = [
        {"person": {"externalId": "a"}, "name": "Ping"},
        {"person": {"externalId": "b"}, "name": "NoSuchEvent"},
        {"person": {"id": 2**40}, "name": "Ping"},  # no such person
    ]
    answer = api.post("/events", json=body)
    assert [i["status"] for i in answer.json()["items"]] == ["accepted", "refused", "refused"]
    replay = {"Idempotency-Key": "metrics-once"}
    for _ in range(2):  # the retry answers the first answer and stores nothing
        assert api.post("/events", json=body[:1], headers=replay).status_code == 202
    assert value(scrape(api), "tidings_events_ingested_total") == before + 2


def queue_late_sms(system: Tidings, api: Api, seconds: int) -> tuple[int, int]:
    """An SMS row due `seconds` ago that nobody has handed over yet (as after a crash);
    answers its person's partition and its due instant."""
    person = api.post("/people", json={"externalId": "late", "phones": ["+385911234567"]})
    pid = int(person.json()["id"])
    due = to_micros(system.clock.now()) - seconds * 1_000_000
    message = SendMessage(element="hi", channel="sms", to="+385911234567", sender="S", content={})

    def queue(conn: Connection) -> None:
        row = outbox.message_row((api.account_id, None, None, None, pid), due, message)  # type: ignore[arg-type]
        changes.write_changes(conn, changes.Changes(outbox=[row]))

    system.db.write(queue)
    return pid % system.settings.partitions, due


def test_backlog_and_lag_show_late_work_until_it_is_done(system: Tidings, api: Api) -> None:
    drain(api)
    before = scrape(api)
    partition, due = queue_late_sms(system, api, 90)
    late = scrape(api)
    assert value(late, "tidings_outbox_backlog", channel="sms") == (
        value(before, "tidings_outbox_backlog", channel="sms") + 1
    )
    assert value(late, "tidings_due_lag_seconds") >= 90

    cluster = operator(api).get("/cluster").json()
    oldest = {o["partition"]: o for o in cluster["oldestDue"]}
    assert partition in oldest
    assert oldest[partition]["dueAt"] <= format_micros(due)
    assert oldest[partition]["waitingSeconds"] >= 90

    drain(api)
    done = scrape(api)
    assert value(done, "tidings_outbox_backlog", channel="sms") == value(
        before, "tidings_outbox_backlog", channel="sms"
    )
    assert value(done, "tidings_due_lag_seconds") < 90
    still = {o["partition"]: o["dueAt"] for o in operator(api).get("/cluster").json()["oldestDue"]}
    assert still.get(partition) != format_micros(due)


def operator(api: Api) -> Api:
    """The default account's admin: the one who may read the cluster."""
    return Api(api.client, ADMIN_KEY, 1)


def test_cluster_answers_the_embedded_engine_holding_every_partition(
    system: Tidings, api: Api
) -> None:
    answer = operator(api).get("/cluster")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    partitions = system.settings.partitions
    assert body["partitions"] == partitions
    assert body["leased"] is False
    assert body["now"] == format_micros(to_micros(system.clock.now()))
    assert body["engines"] == [
        {
            "owner": "embedded",
            "partitions": list(range(partitions)),
            "leaseExpiresAt": None,
            "startedAt": None,
            "heartbeatAt": None,
        }
    ]
    assert isinstance(body["oldestDue"], list)
    assert body["oldestDueComplete"] is True


def test_cluster_is_for_admin_keys_only(system: Tidings, api: Api) -> None:
    key = system.db.write(
        lambda conn: accounts.create_key(
            conn, account_id=api.account_id, name="reader", admin=False, now=0
        )
    )
    plain = api.client.get("/api/v1/cluster", headers={"Authorization": f"Bearer {key}"})
    assert plain.status_code == 403
    assert plain.json()["error"]["code"] == "forbidden"
    # an admin of any other account than the operator's sees no other tenants' work
    tenant = api.get("/cluster")
    assert tenant.status_code == 403
    assert "default account" in tenant.json()["error"]["message"]
    assert operator(api).get("/cluster").status_code == 200
    assert api.client.get("/api/v1/cluster").status_code == 401
    forged = api.client.get("/api/v1/cluster", headers={"Authorization": "Bearer tdk_forged"})
    assert forged.status_code == 401
    basic = api.client.get("/api/v1/cluster", headers={"Authorization": f"Basic {api.key}"})
    assert basic.status_code == 401
    # /metrics needs no key, and a key (even a forged one) changes nothing
    assert api.client.get("/metrics", headers={"Authorization": "Bearer tdk_forged"}).is_success


def test_metrics_refuse_other_methods(api: Api) -> None:
    assert api.client.post("/metrics", content=b"x").status_code == 405
