"""Event ingest, the use case: check each item on its own, then store many requests'
events at once.

`check_events` runs in the request (CPU only; the API reads each raw item with its own
`parse`); `store_events` runs in the writer for a whole batch of requests (the API's
`store.batcher.Batcher` is handed it as its `process`): one person look-up per account,
multi-row inserts for every event (`store.dialect.insert_values`), idempotency answers
remembered in the same commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tidings.domain.durations import parse_instant, to_micros
from tidings.domain.errors import Conflict, Problem, ProblemList
from tidings.domain.events import check_properties
from tidings.domain.values import ValueType
from tidings.services.items import refused
from tidings.store import idempotency
from tidings.store.events import (
    EventValues,
    encode_properties,
    insert_events,
    insert_inbox_events,
)
from tidings.store.person_refs import ensure_people
from tidings.store.tables import people

SCOPE = "events"


@dataclass(frozen=True, slots=True)
class Ref:
    """Who an accepted event is about: an externalId, or a server id."""

    externalId: str | None
    id: int | None


# An item as the API reads it: who, the event's name, its raw properties, its time (text).
Parsed = tuple[Ref, str, dict[str, Any], str | None]
# Reads one raw item (the API's shape): the parsed item, or why it is refused.
Parse = Callable[[Any], Parsed | list[Problem]]


@dataclass
class IngestJob:
    """One request's checked events, waiting to be stored."""

    account_id: int
    idempotency_key: str | None
    now: int
    answers: list[dict[str, Any] | None]
    accepted: list[tuple[int, Ref, str, str, int]]


def check_events(
    items: list[Any],
    types: dict[str, dict[str, ValueType]],
    *,
    parse: Parse,
    account_id: int,
    idempotency_key: str | None,
    now: int,
) -> IngestJob:
    job = IngestJob(account_id, idempotency_key, now, [None] * len(items), [])
    for index, item in enumerate(items):
        plain = parse(item)
        if isinstance(plain, list):
            job.answers[index] = refused(plain)
            continue
        ref, name, raw_properties, time = plain
        problems = ProblemList()
        definition = types.get(name)
        properties: dict[str, Any] = {}
        if definition is None:
            problems.add("name", f"unknown event {name!r}: define it first")
        else:
            properties = check_properties(raw_properties, definition, problems, "")
        when = now
        if time is not None:
            try:
                when = to_micros(parse_instant(time))
            except ValueError as exc:
                problems.add("time", str(exc))
        if problems:
            job.answers[index] = refused(problems.items)
            continue
        job.accepted.append((index, ref, name, encode_properties(properties), when))
    return job


def store_events(
    conn: Connection,
    jobs: Sequence[IngestJob],
    *,
    partitions: int = 256,
    wants: Callable[[int, str], bool] | None = None,
    ingested: Callable[[int], None] | None = None,
) -> list[tuple[int, Any]]:
    """Store every job's accepted events; return each job's (status, body) in order.
    `ingested` is told how many were stored (for /metrics)."""
    results: list[tuple[int, Any] | None] = [None] * len(jobs)
    live: list[int] = []
    for n, job in enumerate(jobs):
        if job.idempotency_key is not None:
            remembered = idempotency.recall(
                conn, job.account_id, SCOPE, job.idempotency_key, job.now
            )
            if remembered is not None:
                results[n] = remembered
                continue
        live.append(n)

    external: dict[int, set[str]] = defaultdict(set)
    ids: dict[int, set[int]] = defaultdict(set)
    for n in live:
        for _, ref, *_ in jobs[n].accepted:
            if ref.externalId is not None:
                external[jobs[n].account_id].add(ref.externalId)
            elif ref.id is not None:
                ids[jobs[n].account_id].add(ref.id)
    now = max((jobs[n].now for n in live), default=0)
    by_external = {
        account: ensure_people(conn, account, sorted(names), now)[0]
        for account, names in external.items()
    }
    known_ids = {account: _existing(conn, account, wanted) for account, wanted in ids.items()}

    rows: list[EventValues] = []
    for n in live:
        job = jobs[n]
        mine: list[EventValues] = []
        answers = list(job.answers)
        for index, ref, name, properties, when in job.accepted:
            if ref.externalId is not None:
                person_id = by_external[job.account_id][ref.externalId]
            else:
                assert ref.id is not None
                if ref.id not in known_ids[job.account_id]:
                    answers[index] = refused(
                        [Problem("person.id", f"person {ref.id} does not exist")]
                    )
                    continue
                person_id = ref.id
            mine.append((job.account_id, person_id, name, properties, when, job.now))
            answers[index] = {"status": "accepted"}
        body = {"items": answers}
        if job.idempotency_key is not None:
            try:
                idempotency.remember(
                    conn, job.account_id, SCOPE, job.idempotency_key, 202, body, job.now
                )
            except Conflict as exc:
                results[n] = (
                    409,
                    {"error": {"code": exc.code, "message": exc.message, "details": []}},
                )
                continue
        rows.extend(mine)
        results[n] = (202, body)
    insert_events(conn, rows)
    if ingested is not None and rows:
        ingested(len(rows))
    # Every event is also a stimulus for the engine, in the same commit: flows it starts,
    # waits it ends and goals it meets are found there, never by re-reading the log.
    if wants is not None:
        rows = [r for r in rows if wants(r[0], r[2])]
    insert_inbox_events(conn, rows, partitions=partitions)
    return [r for r in results if r is not None]


def _existing(conn: Connection, account_id: int, wanted: set[int]) -> set[int]:
    return {
        row.id
        for row in conn.execute(
            select(people.c.id).where(people.c.account_id == account_id, people.c.id.in_(wanted))
        )
    }
