"""Set-based audience entries: the head of the inbox made of plain entries into one flow
whose first steps are everyone's (`uniform_move(..., "enter")`), for people who were
never in it. Each person's messages are composed for them in Python
(`personal_sends`), or by the store (sql_sends.py) when it can.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

import tidings.engine.bulk.sql_sends as sql_sends
from tidings.domain.durations import to_micros
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.needs import message_needs
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import personal_sends, uniform_move
from tidings.engine.bulk.context import Context
from tidings.engine.bulk.in_flight import settled
from tidings.engine.bulk.moves import (
    Cohort,
    entry_detail,
    hand_over_entered,
    move_state,
    record,
)
from tidings.engine.dispatch import Sendable, settle
from tidings.engine.failures import blame
from tidings.engine.programs import Compiled
from tidings.store import composed_sms
from tidings.store.changes import Changes, write_changes
from tidings.store.composed_sms import SqlSend
from tidings.store.counts import channel_counter
from tidings.store.inbox import InboxItem, due_inbox
from tidings.store.outbox import message_row
from tidings.store.participations import enter_people, history
from tidings.store.snapshots import existing_people, load_people
from tidings.store.timers import timed_people

PART = 2000  # entries composed while the writer commits the previous part
FIRST_PART = 250  # the head's first part: small, so the writer has work soon


def take_entries(ctx: Context, now: datetime, limit: int, first: InboxItem) -> int:
    """Enter the head of the due inbox (up to `limit` stimuli, `first` the first of them)
    made of audience entries into one flow whose first steps are everyone's, for people
    who were never in it (the frequency cap has nothing to say about them); answer how
    many entries were consumed. The path may send: each person's messages are composed
    for them (`personal_sends`). People for whom the path is not everyone's (they were
    in the flow, a message would not go) stay in the inbox for the general path, which
    takes them next: entries of different people into one flow do not depend on their
    order."""
    compiled = ctx.programs.active.get(first.flow_id or 0)
    if compiled is None or compiled.account_id != first.account_id:
        return 0
    with blame(compiled.flow_id, compiled.version):  # every part is this version's
        return _take_entries(ctx, now, limit, compiled)


def _take_entries(ctx: Context, now: datetime, limit: int, compiled: Compiled) -> int:
    at = to_micros(now)
    owned = ctx.scope.owned()
    flow_id = compiled.flow_id
    if compiled.rules.refusal([], now) is not None:
        return 0
    program = compiled.program
    move = uniform_move(program, None, "enter", now, sends=True)
    if move is None:
        return 0
    cohort = Cohort(compiled, move)

    def writer(
        taken: list[InboxItem], messages: dict[int, list[dict[str, Any]]]
    ) -> Callable[[Connection], int]:
        def write(conn: Connection) -> int:
            ctx.scope.fence(conn)
            state = move_state(program, move, at)
            variables = orjson.dumps(dict(move.variables)).decode() if move.variables else None
            detail = entry_detail(conn, cohort, at)
            where = (compiled.account_id, compiled.flow_id, compiled.version)
            # people in order of their ids (a queued entry into one flow does not depend
            # on another person's); those deleted since they were queued are not found;
            # when the store composes the messages, only people it can send to enter here
            people = sorted({i.person_id for i in taken})
            ids = enter_people(  # person -> participation
                conn, where, people, state, variables, at, detail, with_phone=by_sql is not None
            )
            if by_sql is not None:
                return _write_sql(ctx, conn, cohort, taken, ids, at, by_sql, detail)
            changes = Changes(at=at)
            outbox: list[dict[str, Any]] = []
            for item in taken:
                changes.consume(item)
                pid = ids.get(item.person_id)
                if pid is None:
                    continue  # deleted since it was queued: no participation, nothing sent
                for row in messages.get(item.person_id, ()):
                    row["participation_id"] = pid
                    outbox.append(row)
                    parts = row["payload"]["parts"]
                    changes.counters[(*where, "", "messagesSent")] += parts
                    changes.counters[(*where, row["element"], "messagesSent")] += parts
            write_changes(conn, changes)
            hand_over_entered(ctx, conn, outbox, at)
            record(conn, cohort, sorted(ids.values()), at, entry_detail=detail)
            return len(taken)

        return write

    # A pipeline: while the writer commits one part of the head, the next part's history
    # is read, its people loaded (only what their messages read) and their messages
    # composed (the writer's SQLite work leaves the interpreter free). The first part is
    # small, so the writer starts early.
    head: list[InboxItem] = []
    with ctx.db.read() as conn:
        seen: set[int] = set()
        for item in due_inbox(conn, at, limit, owned):
            if not plain_entry(item) or item.flow_id != flow_id or item.person_id in seen:
                break
            if item.account_id != compiled.account_id:
                break
            head.append(item)
            seen.add(item.person_id)
    pending: list[Future[int]] = []
    needs = message_needs(_send(program, e).content for e in move.sends)
    # The store composes the SMS it can (sql_sends.py); one that goes out through a
    # connection is written pending for the provider's dispatcher, not handed over here.
    by_sql = sql_sends.plan(program, move, now) if ctx.sql_sends else None
    if by_sql is not None:
        routes = ctx.programs.routes
        by_sql = [
            replace(
                send,
                connection=routes.route(
                    compiled.account_id, "sms", _send(program, send.element).content.connection
                ),
            )
            for send in by_sql
        ]
    start, size = 0, FIRST_PART
    while start < len(head):
        part = head[start : start + size]
        start, size = start + size, PART
        with ctx.db.read() as conn:
            people = {i.person_id for i in part}
            been = set(history(conn, compiled.flow_id, people))
            # a timer of theirs that is due comes first: the general path keeps the order
            been |= timed_people(conn, people, at)
            fresh = [item for item in part if item.person_id not in been]
            persons = (
                load_people(conn, [i.person_id for i in fresh], needs)
                if move.sends and fresh and by_sql is None
                else {}
            )
        messages: dict[int, list[dict[str, Any]]] = {}  # person -> their outbox rows
        taken: list[InboxItem] = []
        for item in fresh:
            if move.sends and by_sql is None:
                person = persons.get(item.person_id)
                if person is not None:  # a deleted person's entry is only consumed
                    composed = personal_sends(program, move, person, now)
                    if composed is None:
                        continue
                    # the outbox rows, but for the participation the write numbers
                    where = (
                        compiled.account_id,
                        0,
                        compiled.flow_id,
                        compiled.version,
                        item.person_id,
                    )
                    messages[item.person_id] = [message_row(where, at, m) for m in composed]
            taken.append(item)
        if taken:
            pending.append(ctx.db.submit(writer(taken, messages)))
    done = sum(settled(pending))
    ctx.forget_ids()  # SQLite numbered those rows itself
    return done


def _write_sql(
    ctx: Context,
    conn: Connection,
    cohort: Cohort,
    taken: list[InboxItem],
    ids: dict[int, int],
    at: int,
    sends: list[SqlSend],
    detail: int | None,
) -> int:
    """The rest of an entry part whose messages the store composes (sql_sends.py):
    the entries consumed (a deleted person's too; a person without a phone stays for the
    general path), the messages written and handed over, and what the move counts."""
    # consumed: the entries of those who entered, and of people deleted since
    left = [i.person_id for i in taken if i.person_id not in ids]
    gone = set(left) - set(existing_people(conn, left))
    rows, parts = composed_sms.write(conn, sends, {pid: person for person, pid in ids.items()}, at)
    ctx.tally.composed_by_store += len(rows)
    c = cohort.compiled
    where = (c.account_id, c.flow_id, c.version)
    changes = Changes(at=at)
    consumed = 0
    for item in taken:
        if item.person_id in ids or item.person_id in gone:
            changes.consume(item)
            consumed += 1
    for element, n in parts.items():
        changes.counters[(*where, "", "messagesSent")] += n
        changes.counters[(*where, element, "messagesSent")] += n
    if rows:  # the channel's figures (insert_outbox counts the messages composed here)
        changes.counters[channel_counter(*where, "sms", "sent")] += len(rows)
        changes.counters[channel_counter(*where, "sms", "parts")] += sum(parts.values())
    account, flow, version = where
    routed = {send.element for send in sends if send.connection is not None}
    sendable: list[Sendable] = [
        Sendable(oid, account, pid, flow, version, element, person, "message", "sms", False, False)
        for oid, pid, person, element in rows
        if element not in routed  # the rest wait for their provider (engine/sending.py)
    ]
    write_changes(conn, changes)
    # after the participations: a report goes to whoever now waits for it
    settle(
        conn,
        sendable,
        at,
        partitions=ctx.partitions,
        quiet=ctx.programs.quiet,
        people_exist=True,
        figures=ctx.figures,
    )
    record(conn, cohort, sorted(ids.values()), at, entry_detail=detail)
    return consumed


def _send(program: Program, element: str) -> Send:
    handler = program.handlers[element]
    assert isinstance(handler, Send)
    return handler


def plain_entry(item: InboxItem) -> bool:
    """An audience entry: no variables, no event, not from another flow."""
    return item.kind == "enter" and not item.payload
