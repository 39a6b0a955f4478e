"""What a provider's delivery callback changes (`POST /webhooks/{token}/delivery`).

The connection is named by the webhook's token; its provider parses the callback in its
own format (`channels/<provider>.py`: a forged or malformed one is refused there). Each
report names one of our messages by its outbox id, which must have gone out through
this connection: a callback naming any other message is refused whole and changes
nothing. Then, per report:

- `pending` (accepted by an operator, not yet on the handset): only its price is kept;
- `delivered` / `failed`: the message takes that status once (a repeated report, or a
  report after the other final one, changes nothing), its person gets
  `message.delivered` / `message.failed` (with the reason), and a failover or a voice
  call that waits for it gets its result (a voice call's digits: `collected`);
- `seen` / `clicked`: the event, once per message;
- `unsubscribed` (Infobip's UNSUBSCRIBED or COMPLAINED email event): the person is
  unsubscribed from the message's channel and gets `message.unsubscribed`, once.

A provider's reported price replaces the one the account's price table gave
(`trafficCost`). A report that says the provider prices the message only now
(`price_later`: Twilio's answered calls) queues one `price` row for the dispatcher to
ask it (engine/sending.py; once a message: a repeated report queues none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.channels.providers import Report
from tidings.domain.errors import InvalidInput, NotFound, Problem
from tidings.engine.interest import QuietReports
from tidings.engine.sending import add_cost, price_row, report_items
from tidings.services import report_emails
from tidings.store import changes, idempotency, outbox, provider_outbox
from tidings.store.connections import ConnectionRow
from tidings.store.counts import add_counters
from tidings.store.participations import waiting_people
from tidings.store.people import add_unsubscribed
from tidings.store.provider_outbox import Sent

FINAL = ("delivered", "failed")
STATUS_ONLY = ("pending", "delivered", "failed")  # a report of nothing but these and a price
PRICE_SCOPE = "provider-price"  # a message whose price was asked for (idempotency keys)


def record(
    conn: Connection,
    connection: ConnectionRow,
    reports: Sequence[Report],
    now: int,
    *,
    partitions: int,
    quiet: QuietReports | None = None,
) -> int:
    """Apply the reports (see the module doc); answer how many changed anything. The
    reports of emailed reports (services/report_emails.py: their own ids) are taken and
    change nothing, so the provider does not post them again."""
    reports = [r for r in reports if not r.message_id.startswith(report_emails.ID_PREFIX)]
    ids: list[int] = []
    for i, report in enumerate(reports):
        text = report.message_id
        if not text.isdigit() or len(text) > 18:
            raise InvalidInput([Problem(f"results.{i}.messageId", f"{text!r} is not ours")])
        ids.append(int(text))
    if quiet is not None:
        plain = _record_plain(conn, connection, reports, ids, now, quiet)
        if plain is not None:
            return plain
    return _record_each(conn, connection, reports, ids, now, partitions=partitions, quiet=quiet)


def _record_plain(
    conn: Connection,
    connection: ConnectionRow,
    reports: Sequence[Report],
    ids: Sequence[int],
    now: int,
    quiet: QuietReports,
) -> int | None:
    """The commonest callback, set-based: every report `delivered` at one price (or none),
    once a message, of messages not yet reported final whose reports nobody waits for
    (`_keep`'s, for every one). Each report then changes its message alike: a few rows
    read (`provider_outbox.alike`) where `_record_each` reads one a report. None (nothing
    written) when the callback or its messages are anything else: `_record_each`'s."""
    tails = {report[1:] for report in reports}
    if len(tails) != 1:
        return None
    status, reason, price, _currency, digits, url, later = tails.pop()
    if status != "delivered" or (reason, digits, url, later) != (None, None, None, None):
        return None
    groups = provider_outbox.alike(conn, connection.id, ids)
    loud = quiet.loud(conn)
    if sum(g.messages for g in groups) != len(ids) or not all(
        g.plain and (g.account_id, "message.delivered") not in loud for g in groups
    ):
        return None  # an unknown message (refused there), one named twice (counted once
        # here), or one to report one by one
    costs: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    if price is not None:  # the provider's price replaces the table's (`_price_changes`)
        for g in groups:
            add_cost(costs, g, g.messages * (round(price * 1e6) - round((g.price or 0) * 1e6)))
    add_counters(conn, dict(costs), now)
    changed = provider_outbox.finish(
        conn,
        [("delivered", now, None, price, oid) for oid in ids],
        leaving=provider_outbox.OPEN,
        still=set(ids),  # every one open: `alike` read them plain, locked
    )
    counted: dict[tuple[int, int | None, int | None, str | None], int] = defaultdict(int)
    for g in groups:
        counted[(g.account_id, g.flow_id, g.version, g.channel)] += g.messages
    outbox.store_reports(
        conn,
        "message.delivered",
        sorted(ids),
        now,
        people_exist=False,
        counted=counted.items(),
    )
    return len(changed)


def _record_each(
    conn: Connection,
    connection: ConnectionRow,
    reports: Sequence[Report],
    ids: Sequence[int],
    now: int,
    *,
    partitions: int,
    quiet: QuietReports | None,
) -> int:
    """Any callback, report by report (see the module doc)."""
    sent = provider_outbox.of_connection(conn, connection.id, ids, lock=True)
    unknown = [str(i) for i in ids if i not in sent]
    if unknown:
        raise NotFound(f"no message {', '.join(unknown[:5])} went out through this connection")
    items: list[dict[str, Any]] = []
    changed = 0
    # one pass over the reports (this runs inside the writer's turn): the priced ones,
    # each message's first final report, and the few of any other kind
    prices: list[tuple[float, int]] = []
    finals: dict[int, Report] = {}
    final_priced: set[int] = set()  # its price is written with its status (`finish`)
    others: list[tuple[Report, int]] = []  # asked to price later, unsubscribed, seen, clicked
    for report, oid in zip(reports, ids, strict=True):
        status = report.status
        if report.price is not None:
            prices.append((report.price, oid))
            if status in FINAL:
                final_priced.add(oid)
        if status in FINAL and oid not in finals:
            finals[oid] = report
        if status not in STATUS_ONLY or report.price_later is not None:
            others.append((report, oid))
    # a provider's price replaces the table's: the counters take the difference
    costs: dict[tuple[int, int, int, str, str], int] = defaultdict(int)
    for message, micros in _price_changes(sent, prices):
        add_cost(costs, message, micros)
    provider_outbox.priced(conn, [(price, oid) for price, oid in prices if oid not in final_priced])
    add_counters(conn, dict(costs), now)
    # the final reports, the first of each message's (set-based: one write)
    done = provider_outbox.finish(
        conn,
        [(r.status, now, r.reason, r.price, oid) for oid, r in finals.items()],
        leaving=provider_outbox.OPEN,
        still={oid for oid, m in sent.items() if m.status in provider_outbox.OPEN},
    )
    kept = _keep(conn, [oid for oid in done if finals[oid].status == "delivered"], sent, quiet)
    for oid in done:
        if oid in kept:
            continue
        report = finals[oid]
        items += report_items(
            sent[oid],
            report.status,
            now,
            partitions=partitions,
            reason=report.reason,
            digits=report.digits,
        )
    if kept:
        ordered = sorted(kept)
        # kept messages are a person's (`_keep`), their places read above: not read again
        places = [
            (m.account_id, m.flow_id, m.version, m.channel) for m in (sent[oid] for oid in ordered)
        ]
        outbox.store_reports(
            conn, "message.delivered", ordered, now, people_exist=False, places=places
        )
    changed += len(done)
    changed += _ask_prices(conn, connection, others, sent, now)
    for report, oid in others:
        message = sent[oid]
        if report.status == "unsubscribed":
            # the provider says the person opted out (an email's unsubscribe, a complaint)
            person, channel = message.person_id, message.channel
            if (
                person is not None
                and channel is not None
                and add_unsubscribed(conn, message.account_id, person, [channel], now)
            ):
                items += report_items(
                    message, "unsubscribed", now, partitions=partitions, result=False
                )
                changed += 1
            continue
        if report.status in ("seen", "clicked"):
            column = "seen_at" if report.status == "seen" else "clicked_at"
            if not provider_outbox.first_time(conn, column, [oid], now):
                continue
            items += report_items(
                sent[oid], report.status, now, partitions=partitions, url=report.url, result=False
            )
            changed += 1
    changes.enqueue(conn, items)
    return changed


def _price_changes(
    sent: dict[int, Sent], prices: Sequence[tuple[float, int]]
) -> list[tuple[Sent, int]]:
    """What the reported prices change in the traffic cost, in micros: summed by flow,
    element and channel (a message of each stands for its sum), each report against the
    message's price before it (the one billed before, or this callback's earlier
    report's)."""
    billed: dict[int, float | None] = {}
    sums: dict[tuple[int, int, int | None, str | None, str | None], int] = defaultdict(int)
    one: dict[tuple[int, int, int | None, str | None, str | None], Sent] = {}
    for price, oid in prices:
        message = sent[oid]
        before = billed.get(oid, message.price)
        billed[oid] = price
        if message.kind != "message" or message.flow_id is None:
            continue
        where = (message.account_id, message.flow_id, message.version, message.element,
                 message.channel)  # fmt: skip
        sums[where] += round(price * 1e6) - round((before or 0) * 1e6)
        if where not in one:
            one[where] = message
    return [(one[where], micros) for where, micros in sums.items()]


def _keep(
    conn: Connection, ids: Sequence[int], sent: dict[int, Sent], quiet: QuietReports | None
) -> set[int]:
    """Those of these delivered messages whose report is kept straight in the person's
    events (`outbox.store_reports`), as the engine would keep it (engine/bulk/reports.py,
    and the sandbox's: engine/dispatch.py): a person's message nobody waits for a result
    of, for a person who waits in no flow, of an event no live flow enters on or counts
    as its goal. The others go through the inbox to the engine, as stimuli."""
    if quiet is None or not ids:
        return set()
    loud = quiet.loud(conn)
    maybe = [
        sent[oid]
        for oid in ids
        if sent[oid].kind == "message"
        and sent[oid].person_id is not None
        and not (sent[oid].wants_result and sent[oid].participation_id is not None)
        and (sent[oid].account_id, "message.delivered") not in loud
    ]
    if not maybe:
        return set()
    waiting = waiting_people(conn, ((m.account_id, int(m.person_id or 0)) for m in maybe))
    return {m.id for m in maybe if m.person_id not in waiting}


def _ask_prices(
    conn: Connection,
    connection: ConnectionRow,
    reports: Sequence[tuple[Report, int]],
    sent: dict[int, Sent],
    now: int,
) -> int:
    """A `price` row for each message the provider prices only now (of `reports`, each
    with its outbox id), once a message; answer how many."""
    rows: list[dict[str, Any]] = []
    for report, oid in reports:
        message = sent[oid]
        if report.price_later is None or message.kind != "message":
            continue
        key = f"{connection.id}:{oid}"
        if idempotency.recall(conn, message.account_id, PRICE_SCOPE, key, now) is not None:
            continue
        idempotency.remember(conn, message.account_id, PRICE_SCOPE, key, 200, {}, now)
        rows.append(price_row(message, connection.id, report.price_later, now))
    outbox.insert_outbox(conn, rows)
    return len(rows)
