"""The outbox dispatcher: pending rows become provider calls; outcomes come back as
stimuli (results) and person events (`message.delivered` ...), due when the provider
reports them. A row and its consequences commit together, so nothing is sent twice.
A step's own messages due now do not wait for the dispatcher: `hand_over` writes their
rows done and hands them over in the step's transaction, with the same `settle`.

The sandbox provider is a table in the same store, so a batch of sends is handed to it
set-based: the messages are copied from the outbox rows by SQL (the payload is never
decoded in Python), and Python decides only each message's fate (a hash of its id, and
no hash at all when the account's shares are 1 and 0). A report due at once for a person
who waits in no flow, of an event no flow enters or counts as a goal on, is written
straight into the person's events: that is all the engine would do with it. Every other
report goes through the inbox to the engine, as a stimulus.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.domain.prices import price_micros
from tidings.domain.routes import Routes
from tidings.domain.sandbox import Outcome, SandboxSettings, decide, fixed_outcome
from tidings.engine.figures import EngineFigures
from tidings.engine.sending import Links, add_cost, with_tracking
from tidings.store import changes, outbox, participations, provider_outbox, sandbox
from tidings.store.counts import add_counters
from tidings.store.ids import next_ids
from tidings.store.outbox import Sendable as Sendable  # named by the set-based sends too

MICROS = 1_000_000
# (account, event name) -> True when no flow enters on the event or has it as its goal.
Quiet = Callable[[int, str], bool]


def dispatch_once(
    conn: Connection,
    now: int,
    *,
    partitions: int,
    limit: int = 5000,
    owned: frozenset[int] | None = None,
    quiet: Quiet | None = None,
    figures: EngineFigures | None = None,
    links: Links | None = None,
) -> int:
    rows = outbox.due_sends(conn, now, limit=limit, owned=owned, partitions=partitions)
    if not rows:
        return 0
    ids = settle(conn, rows, now, partitions=partitions, quiet=quiet, figures=figures, links=links)
    outbox.mark_sent(conn, ids, now)
    return len(rows)


def hand_over(
    conn: Connection,
    rows: list[dict[str, Any]],
    now: int,
    *,
    partitions: int,
    quiet: Quiet | None = None,
    people_exist: bool = False,
    figures: EngineFigures | None = None,
    routes: Routes | None = None,
    links: Links | None = None,
) -> None:
    """Write a step's outbox rows (`outbox.message_row`); the messages and
    notifications due now go to the sandbox provider in the same transaction, as the
    dispatcher would hand them over (the same `settle`), so their rows are written done
    and never read back. API calls, anything due later, and messages that `routes`
    send through a connection (engine/sending.py) stay pending.
    `people_exist`: the step entered its people in this transaction (none was deleted)."""
    if routes is not None and routes.accounts:
        for r in rows:
            if (
                r["kind"] != "call_api"
                and r["account_id"] in routes.accounts
                and r.get("connection_id") is None  # else a live call's (engine/calls.py)
            ):
                named = r["payload"].get("connection")
                r["connection_id"] = routes.route(r["account_id"], r["channel"], named)
    now_rows = [r for r in rows if _due_send(r, now)]
    if len(now_rows) != len(rows):
        outbox.insert_outbox(conn, [r for r in rows if not _due_send(r, now)])
    if not now_rows:
        return
    ids = next_ids(conn, len(now_rows), "outbox")
    outbox.insert_outbox(conn, now_rows, ids=ids, done_at=now)
    sendable: list[Sendable] = [
        Sendable(
            oid,
            r["account_id"],
            r["participation_id"],
            r["flow_id"],
            r["version"],
            r["element"],
            r["person_id"],
            r["kind"],
            r["channel"],
            bool(r["payload"].get("wantsResult")),
            r["channel"] == "email" or bool(r["payload"].get("trackLinks")),
        )
        for oid, r in zip(ids, now_rows, strict=True)
    ]
    settle(
        conn,
        sendable,
        now,
        partitions=partitions,
        quiet=quiet,
        people_exist=people_exist,
        figures=figures,
        links=links,
    )


def _due_send(row: dict[str, Any], now: int) -> bool:
    """A message for the sandbox, due now."""
    return bool(
        row["kind"] != "call_api"
        and row["next_attempt_at"] <= now
        and row.get("connection_id") is None
    )


def settle(
    conn: Connection,
    rows: Sequence[Sendable],
    now: int,
    *,
    partitions: int,
    quiet: Quiet | None = None,
    people_exist: bool = False,
    figures: EngineFigures | None = None,
    links: Links | None = None,
) -> list[int]:
    """Hand `rows` (outbox rows already written: by the step itself, or read back by the
    dispatcher) to the sandbox provider: each message's fate, its sandbox row, its reports
    (events or stimuli) and the result a failover or a voice call waits for; answer the
    ids handed over. `people_exist`: the caller entered them in this transaction."""
    settings: dict[int, SandboxSettings] = {}
    tables: dict[int, dict[str, Any]] = {}  # accounts with a price table
    by_status: dict[str, list[int]] = defaultdict(list)
    new_inbox: list[dict[str, Any]] = []
    # (account, person, outbox id, event name) of reports due now that no flow enters or
    # reaches a goal on: straight into events, when the person waits nowhere
    reports: list[tuple[int, int, int, str]] = []
    fixed: dict[int, Outcome | None] = {}  # per account: everyone's outcome, if alike
    plans: dict[Any, tuple[int, list[tuple[str, bool]]]] = {}  # per account (and outcome)
    for oid, account, participation, flow, version, element, person, kind, channel, want, _ in rows:
        if account not in settings:
            settings[account], table = sandbox.settings_and_prices(conn, account)
            fixed[account] = fixed_outcome(settings[account])
            if table:
                tables[account] = table
        same = fixed[account]
        outcome = same or decide(oid, settings[account])
        by_status[outcome.reports[0]].append(oid)
        if kind != "message" or person is None:
            continue
        key: Any = account if same is not None else (account, outcome)
        plan = plans.get(key)
        if plan is None:  # when the reports are due, and which of them are kept at once
            due = now + int(outcome.delay.total_seconds() * MICROS)
            names = [f"message.{report}" for report in outcome.reports]
            plan = plans[key] = (
                due,
                [(n, due <= now and quiet is not None and quiet(account, n)) for n in names],
            )
        due, names_kept = plan
        partition = person % partitions
        for name, kept in names_kept:
            if kept:
                reports.append((account, person, oid, name))
                continue
            properties = _properties(oid, flow, version, element, channel)
            new_inbox.append(_report(account, partition, person, name, properties, due))
        if want and participation is not None:
            new_inbox.append(
                {
                    "account_id": account,
                    "partition": partition,
                    "person_id": person,
                    "kind": "result",
                    "participation_id": participation,
                    "payload": {
                        "element": element,
                        "outcome": _result(channel, outcome.reports[0]),
                    },
                    "due_at": due,
                }
            )
    if figures is not None and "failed" in by_status:
        figures.provider_errors("sandbox", "failed", len(by_status["failed"]))
    if tables:
        _price(
            conn, [r for r in rows if r.account_id in tables and r.kind == "message"], tables, now
        )
    for status, ids in by_status.items():
        outbox.copy_to_sandbox(conn, ids, status, now)
    tracked = [r.id for r in rows if r.tracked and r.kind == "message" and r.person_id is not None]
    if tracked and links is not None and links.key:
        # emails (and texts with trackLinks) as they went out: links through /t/, the
        # open pixel and the unsubscribe link, as a provider is handed them (sending.py)
        payloads = outbox.contents(conn, tracked)
        channels = {r.id: r.channel for r in rows}
        sandbox.rewrite_contents(
            conn,
            [
                (
                    with_tracking(
                        oid,
                        channels[oid],
                        payload.get("content") or {},
                        bool(payload.get("trackLinks")),
                        links,
                    )[0],
                    oid,
                )
                for oid, payload in payloads.items()
            ],
        )
    new_inbox += _kept(conn, reports, now, partitions, people_exist=people_exist)
    changes.enqueue(conn, new_inbox)
    return [row[0] for row in rows]


def _price(
    conn: Connection, rows: Sequence[Sendable], tables: dict[int, dict[str, Any]], now: int
) -> None:
    """Price the messages of accounts with a price table (domain/prices.py): each row's
    price, and the flow's and element's `trafficCostMicros`."""
    if not rows:
        return
    targets = outbox.targets(conn, [r.id for r in rows])
    prices: list[tuple[float, int]] = []
    counters: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for row in rows:
        to, parts = targets.get(row.id, ("", 1))
        cost = price_micros(tables[row.account_id], row.channel, to, parts)
        if not cost:
            continue
        prices.append((cost / 1_000_000, row.id))
        add_cost(counters, row, cost)
    provider_outbox.priced(conn, prices)
    add_counters(conn, dict(counters), now)


def _report(
    account: int, partition: int, person: int, name: str, properties: dict[str, Any], due: int
) -> dict[str, Any]:
    return {
        "account_id": account,
        "partition": partition,
        "person_id": person,
        "kind": "event",
        "payload": {"name": name, "properties": properties, "time": due, "store": True},
        "due_at": due,
    }


def _kept(
    conn: Connection,
    reports: list[tuple[int, int, int, str]],
    now: int,
    partitions: int,
    *,
    people_exist: bool = False,
) -> list[dict[str, Any]]:
    """Write the reports of people who wait in no flow into their events, set-based
    (`outbox.store_reports` builds the properties by SQL, as `_properties` would);
    answer the others as inbox stimuli (someone may wait for them). `people_exist`:
    the caller entered them in this transaction, so none can have been deleted."""
    if not reports:
        return []
    waiting = participations.waiting_people(conn, ((r[0], r[1]) for r in reports))
    stored: dict[str, list[int]] = defaultdict(list)  # event name -> outbox ids
    inbox: list[dict[str, Any]] = []
    rows: dict[int, tuple[Any, ...]] = {}
    for account, person, oid, name in reports:
        if person not in waiting:
            stored[name].append(oid)
            continue
        if not rows:
            rows = outbox.message_refs(conn, (r[2] for r in reports if r[1] in waiting))
        _, flow, version, element, channel = rows[oid]
        properties = _properties(oid, flow, version, element, channel)
        inbox.append(_report(account, person % partitions, person, name, properties, now))
    for name, ids in stored.items():
        outbox.store_reports(conn, name, ids, now, people_exist=people_exist)
    return inbox


def _properties(oid: int, flow: Any, version: Any, element: Any, channel: Any) -> dict[str, Any]:
    """The properties of a message's report events."""
    return {
        "flow": flow,
        "version": version,
        "element": element,
        "channel": channel,
        "messageId": str(oid),
    }


def _result(channel: str | None, report: str) -> str:
    """A voice call is answered or not; other sends are delivered or failed."""
    if channel == "voice":
        return "answered" if report == "delivered" else "notAnswered"
    return report
