"""The store's raw limit for the engine workloads: the rows a workload's people cost at
the least, written by the driver's `executemany` straight into a fresh store (same
schema and indexes, SQLite, `synchronous=FULL`), in batches of the engine's size with one
commit each. A workload prints its figure next to this one and their ratio, so it is
also read against what the database alone can do. Given a PostgreSQL URL (`events
--database postgresql`), the raw store is a new database of that cluster instead.

- `insert`: per person a participation, an outbox row and the sandbox's message (what a
  launched person or an event-started journey that sends writes, before any trace,
  counter or delivery report);
- `update`: per person one participation moved on by id (a timer that comes, an event
  that is matched), the rows being there already;
- `journey`: per journey an inbox row and a participation (journeys-http);
- `import`: per row of an imported file a new person with a phone and an email (the
  person and two contact rows) and their participation waiting in the flow (sftp-import);
- `parked`: bytes per person of waiting participations alone, with the table's indexes
  (the parked store against the participation rows it holds).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from tidings.bench.population import populate
from tidings.bench.postgres import create_database
from tidings.bench.scratch import scratch
from tidings.bench.server import BENCH_KEY
from tidings.store.database import Database
from tidings.store.dialect import param
from tidings.store.tables import EXITED, WAITING

BATCH = 5000  # the engine's batch
Kind = Literal["insert", "update", "journey", "import"]
_PARTICIPATION = (
    "INSERT INTO participations (account_id, flow_id, version, person_id, phase, "
    "element, variables, entry_event, local, message_events, wake_at, waiting_for, "
    "waiting_element, entered_at, exited_at, exit_reason) "
    "VALUES (1, 1, 1, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?, NULL, 1, ?, ?)"
)


def _sql(db: Database, statement: str) -> str:
    """`statement` in the driver's parameter style (`?` is SQLite's)."""
    return statement.replace("?", param(db.dialect))


@contextmanager
def _store(people: int, cluster_url: str | None = None) -> Iterator[tuple[Database, Path]]:
    folder = scratch("tidings-bench-raw-")
    path = folder / "raw.db"
    url = f"sqlite:///{path}"
    if cluster_url is not None:
        url = create_database(cluster_url, "tidings_raw")
    populate(url, people_count=people, api_key=BENCH_KEY, phones=False)
    db = Database(url=url)
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO flows (account_id, name, status, created_at, updated_at) "
            "VALUES (1, 'raw', 'active', 0, 0)"
        )
    try:
        yield db, path
    finally:
        db.close()


def _batches(n: int) -> Iterator[range]:
    for start in range(0, n, BATCH):
        yield range(start + 1, min(start + BATCH, n) + 1)


def rate(kind: Kind, people: int, cluster_url: str | None = None) -> float:
    """People (or journeys) per second that `kind`'s rows alone go in at (in a new
    database of the PostgreSQL cluster of `cluster_url` when given)."""
    if kind == "import":
        return _import_rate(people)
    with _store(people, cluster_url) as (db, _path):
        if kind == "update":
            with db.write_engine.begin() as conn:
                conn.exec_driver_sql(
                    _sql(db, _PARTICIPATION),
                    [(i, WAITING, "w", 5, None, None, None) for i in range(1, people + 1)],
                )
        started = time.perf_counter()
        for ids in _batches(people):
            with db.write_engine.begin() as conn:
                if kind == "update":
                    conn.exec_driver_sql(
                        _sql(
                            db,
                            f"UPDATE participations SET phase = {EXITED}, wake_at = NULL, "
                            "waiting_for = NULL, exited_at = 2, exit_reason = 'completed' "
                            "WHERE id = ?",
                        ),
                        [(i,) for i in ids],
                    )
                    continue
                conn.exec_driver_sql(
                    _sql(db, _PARTICIPATION),
                    [(i, EXITED, "sms", None, None, 1, "completed") for i in ids],
                )
                if kind == "journey":
                    conn.exec_driver_sql(
                        _sql(
                            db,
                            "INSERT INTO inbox (account_id, partition, person_id, kind, "
                            "payload, due_at) VALUES (1, ?, ?, 'event', ?, 1)",
                        ),
                        [(i % 256, i, '{"name": "CartAbandoned"}') for i in ids],
                    )
                    continue
                conn.exec_driver_sql(
                    _sql(
                        db,
                        "INSERT INTO outbox (account_id, participation_id, flow_id, version, "
                        "element, person_id, kind, channel, payload, status, attempts, "
                        "next_attempt_at, created_at) VALUES (1, ?, 1, 1, 'sms', ?, "
                        "'message', 'sms', ?, 'done', 0, 1, 1)",
                    ),
                    [(i, i, '{"to": "+385910000000", "text": "Hi Person"}') for i in ids],
                )
                conn.exec_driver_sql(
                    _sql(
                        db,
                        'INSERT INTO sandbox_messages (id, account_id, channel, "to", sender, '
                        "content, parts, status, sent_at, flow_id, version, element, "
                        "person_id) VALUES (?, 1, 'sms', '+385910000000', 'Bench', ?, 1, "
                        "'delivered', 1, 1, 1, 'sms', ?)",
                    ),
                    [(i, '{"text": "Hi Person"}', i) for i in ids],
                )
        elapsed = time.perf_counter() - started
    return people / elapsed


def _import_rate(rows: int) -> float:
    """Rows per second that the rows of an import alone go in at (SQLite): new people
    (externalId, first name), their phone and email, and a waiting participation each,
    in parts of the import's size with one commit each."""
    with _store(0) as (db, _path):
        started = time.perf_counter()
        for ids in _batches(rows):
            with db.write_engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO people (id, account_id, external_id, first_name, created_at, "
                    "updated_at) VALUES (?, 1, ?, ?, 1, 1)",
                    [(i, f"p{i}", f"Name{i % 1000}") for i in ids],
                )
                conn.exec_driver_sql(
                    "INSERT INTO person_contacts (account_id, person_id, kind, value, position) "
                    "VALUES (1, ?, ?, ?, 0)",
                    [
                        row
                        for i in ids
                        for row in (
                            (i, "phone", f"+38591{i:07d}"),
                            (i, "email", f"user{i}@example.com"),
                        )
                    ],
                )
                conn.exec_driver_sql(
                    _PARTICIPATION, [(i, WAITING, "w", 10**15, None, None, None) for i in ids]
                )
        elapsed = time.perf_counter() - started
    return rows / elapsed


def parked_bytes(people: int) -> float:
    """Bytes per person of `people` waiting participations and their indexes alone."""
    with _store(people) as (db, path):
        before = os.path.getsize(path)
        for ids in _batches(people):
            with db.write_engine.begin() as conn:
                conn.exec_driver_sql(
                    _PARTICIPATION,
                    # the awaited event is the element's own: NULL, as the engine writes it
                    [(i, WAITING, "w", 10**15, None, None, None) for i in ids],
                )
        db.close()
        after = sum(os.path.getsize(f) for f in path.parent.iterdir())
    return (after - before) / people
