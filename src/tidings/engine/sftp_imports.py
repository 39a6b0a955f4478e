"""The sftp entry's polls (DESIGN.md, Reports, MEP and SFTP imports): each active version
whose entry is `sftp` fetches its `path` every `every` over its connection
(channels/sftp.py), imports each new CSV file once (by name and checksum), creates or
updates each valid row's person (by `externalId`, else phone, else email) and queues the
row's entry into the flow: plain entries in bundles (the set-based audience path takes
them), entries with flow variables one by one (the Flow API's path). Every file and every
failed poll is a row of the import table; a failure never stops the polls.

Polls run in the runner's rounds, like housekeeping (the leader only), so the virtual
clock's `/clock/advance` moves them (`next_poll` is one of the due instants).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from tidings.channels.sftp import Fetched, SftpFailed, Target, fetch
from tidings.domain.durations import parse_duration
from tidings.domain.flows import parse_document
from tidings.domain.flows.entry import SftpEntry
from tidings.domain.imports import Columns, Row, columns_of, read_csv
from tidings.domain.people import combine
from tidings.domain.values import ValueType
from tidings.engine.import_checks import checked_rows
from tidings.engine.scope import LeaseLost
from tidings.store import sftp as store
from tidings.store.accounts import read_account
from tidings.store.audience import enqueue_people
from tidings.store.changes import enqueue
from tidings.store.database import Database
from tidings.store.definitions import attribute_types
from tidings.store.people import PersonWrite, Written, people_by_contact, write_people
from tidings.store.sftp import SftpVersion

log = logging.getLogger(__name__)
T = TypeVar("T")
PART = 10_000  # rows a write creates and queues (at most: the valid ones of a slice)
IN_FLIGHT = 8  # parts submitted to the writer and not written yet, at most (80,000 rows)
Fence = Callable[[Connection], None]


def due(db: Database, at: int) -> list[SftpVersion]:
    """The active sftp versions whose poll is due at `at` (a read)."""
    with db.read() as conn:
        versions = store.sftp_versions(conn)
    return [v for v in versions if (v.launched_at if v.next_at is None else v.next_at) <= at]


def poll_all(
    db: Database,
    fence: Fence,
    versions: list[SftpVersion],
    at: int,
    *,
    partitions: int,
    allow_private: bool,
) -> int:
    """Poll each of `versions` once; answer how much was done (polls and entries)."""
    done = 0
    for version in versions:
        done += 1 + _poll(db, fence, version, at, partitions, allow_private)
    return done


@dataclass(frozen=True)
class _Plan:
    entry: SftpEntry
    every: int
    variables: dict[str, ValueType]


def _plan(version: SftpVersion) -> _Plan | None:
    doc = parse_document(dict(version.document))
    entry = doc.entry
    if not isinstance(entry, SftpEntry) or not entry.connection or not entry.path:
        return None
    every = int(parse_duration(entry.every or "PT1H").total_seconds() * 1_000_000)
    return _Plan(entry, max(every, 1), {v.name: v.type for v in doc.variables})


def _poll(
    db: Database,
    fence: Fence,
    version: SftpVersion,
    at: int,
    partitions: int,
    allow_private: bool,
) -> int:
    account_id, flow_id = version.account_id, version.flow_id

    def fenced(fn: Callable[[Connection], None]) -> None:
        def write(conn: Connection) -> None:
            fence(conn)
            fn(conn)

        db.write(write)

    plan = _plan(version)
    if plan is None:  # validation keeps this from launching; never poll it in a loop
        fenced(lambda conn: store.set_poll(conn, account_id, flow_id, version.version, at, 2**62))
        return 0
    entry, name = plan.entry, plan.entry.connection or ""

    def finish(error: str | None) -> Callable[[Connection], None]:
        def write(conn: Connection) -> None:
            if error is not None:
                store.add_import(
                    conn,
                    account_id,
                    flow_id,
                    version.version,
                    fetched_at=at,
                    connection=name,
                    file=None,
                    checksum=None,
                    total=0,
                    valid=0,
                    invalid=0,
                    error=error,
                )
            store.set_poll(conn, account_id, flow_id, version.version, at, at + plan.every)

        return write

    with db.read() as conn:
        found = store.find_connection(conn, account_id, name)
        private = allow_private or bool(read_account(conn, account_id).allow_private_urls)
        attributes = attribute_types(conn, account_id)
    if found is None:
        fenced(finish(f"there is no SFTP connection {name!r}"))
        return 0
    name = found.name
    target = Target(
        host=found.host,
        port=found.port,
        username=found.username,
        password=found.secrets.get("password"),
        private_key=found.secrets.get("privateKey"),
        host_key=found.host_key,
        allow_private=private,
    )
    try:
        files = _run(fetch(target, entry.path or ""))
    except SftpFailed as exc:
        fenced(finish(str(exc)))
        return 0
    except Exception as exc:  # a poll never crashes the engine: the table says it failed
        log.warning("sftp poll of flow %s failed", flow_id, exc_info=True)
        fenced(finish(f"the poll failed ({type(exc).__name__})"))
        return 0
    checksums = {f.name: hashlib.sha256(f.data).hexdigest() for f in files}
    with db.read() as conn:
        seen = store.imported_files(conn, account_id, flow_id, list(checksums))
    entered = 0
    for file in files:
        if (file.name, checksums[file.name]) in seen:
            continue
        job = _File(db, fence, version, name, file, checksums[file.name], at, partitions)
        try:
            entered += job.run(columns_of_file(file, plan.variables, attributes))
        except LeaseLost:
            raise
        except Exception as exc:
            log.warning("sftp import of %s failed", file.name, exc_info=True)
            job.record(0, 0, 0, f"the import failed ({type(exc).__name__})", checksum=False)
    fenced(finish(None))
    return entered


def columns_of_file(
    file: Fetched, variables: dict[str, ValueType], attributes: dict[str, ValueType]
) -> Columns:
    header, _rows = read_csv(file.data)
    return columns_of(header, variables, attributes)


class _File:
    """One file's import: rows checked in slices (in a process of their own when the file
    is large: import_checks.py), each slice's people written and their entries queued in
    one write while the next slice is checked; the import row with the last slice."""

    def __init__(
        self,
        db: Database,
        fence: Fence,
        version: SftpVersion,
        connection: str,
        file: Fetched,
        checksum: str,
        at: int,
        partitions: int,
    ) -> None:
        self.db, self.fence, self.version = db, fence, version
        self.connection, self.file, self.checksum = connection, file, checksum
        self.at, self.partitions = at, partitions

    def run(self, columns: Columns) -> int:
        slices = checked_rows(self.file.data, columns, PART)
        if columns.phone is None and columns.email is None:
            total = sum(count for count, _rows in slices)
            self.record(total, 0, total, "the file has no phone or email column", checksum=True)
            return 0
        total = valid = entered = 0
        pending: list[concurrent.futures.Future[int]] = []
        for count, rows in slices:
            total += count
            valid += len(rows)
            if rows:
                pending.append(self.db.submit(self._part(rows)))
                if len(pending) > IN_FLIGHT:  # memory stays flat however long the file
                    entered += pending.pop(0).result()
        for future in pending:
            entered += future.result()
        self.record(total, valid, total - valid, None, checksum=True)
        return entered

    def record(
        self, total: int, valid: int, invalid: int, error: str | None, *, checksum: bool
    ) -> None:
        v = self.version

        def write(conn: Connection) -> None:
            self.fence(conn)
            store.add_import(
                conn,
                v.account_id,
                v.flow_id,
                v.version,
                fetched_at=self.at,
                connection=self.connection,
                file=self.file.name,
                checksum=self.checksum if checksum else None,
                total=total,
                valid=valid,
                invalid=invalid,
                error=error,
            )

        self.db.write(write)

    def _part(self, rows: list[Row]) -> Callable[[Connection], int]:
        v, at, partitions, fence = self.version, self.at, self.partitions, self.fence

        def write(conn: Connection) -> int:
            fence(conn)
            people = _people(conn, v.account_id, rows, at)
            plain = [pid for pid, row in people if not row.variables]
            queued = enqueue_people(
                conn, v.account_id, v.flow_id, plain, now=at, partitions=partitions
            )
            with_variables = [
                {
                    "account_id": v.account_id,
                    "partition": pid % partitions,
                    "person_id": pid,
                    "kind": "enter",
                    "flow_id": v.flow_id,
                    "payload": {"variables": row.variables},
                    "due_at": at,
                }
                for pid, row in people
                if row.variables
            ]
            if with_variables:
                enqueue(conn, with_variables)
            return queued + len(with_variables)

        return write


def _people(conn: Connection, account_id: int, rows: list[Row], at: int) -> list[tuple[int, Row]]:
    """Create or update the people of `rows` (by externalId, else phone, else email; rows
    naming one person fold into one change); answer (person id, row) of each. People new
    by an externalId named once in the part are created set-based (`create_people`, which
    skips the externalIds the account has); everyone else goes through `write_people`, as
    the people API writes them."""
    named = Counter(r.external_id for r in rows if r.external_id is not None)
    new = [r for r in rows if r.external_id is not None and named[r.external_id] == 1]
    created = store.create_people(conn, account_id, new, at)
    rest = [r for r in rows if r.external_id is None or r.external_id not in created]
    out = [(created[r.external_id], r) for r in new if r.external_id in created]
    return out + _write(conn, account_id, rest, at)


def _write(conn: Connection, account_id: int, rows: list[Row], at: int) -> list[tuple[int, Row]]:
    if not rows:
        return []
    by_phone = people_by_contact(
        conn, account_id, "phone", [r.phone for r in rows if r.external_id is None and r.phone]
    )
    by_email = people_by_contact(
        conn, account_id, "email", [r.email for r in rows if r.external_id is None and r.email]
    )
    writes: list[PersonWrite] = []
    index: list[int] = []  # row -> its write
    fresh: dict[str, int] = {}  # a new person's phone or email -> the write creating them
    for row in rows:
        if row.external_id is not None:
            writes.append(PersonWrite(row.changes, external_id=row.external_id))
        else:
            found = (by_phone.get(row.phone) if row.phone else None) or (
                by_email.get(row.email) if row.email else None
            )
            if found is not None:
                writes.append(PersonWrite(row.changes, person_id=found))
            else:
                key = f"p:{row.phone}" if row.phone else f"e:{row.email}"
                earlier = fresh.get(key)
                if earlier is not None:  # the same new person again: one change, later wins
                    folded = combine(writes[earlier].changes, row.changes)
                    writes[earlier] = PersonWrite(folded)
                    index.append(earlier)
                    continue
                fresh[key] = len(writes)
                writes.append(PersonWrite(row.changes))
        index.append(len(writes) - 1)
    written = write_people(conn, account_id, writes, at)
    out: list[tuple[int, Row]] = []
    for row, i in zip(rows, index, strict=True):
        answer = written[i]
        if isinstance(answer, Written):
            out.append((answer.id, row))
    return out


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end from synchronous code (in a thread of its own when this
    one already runs an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
