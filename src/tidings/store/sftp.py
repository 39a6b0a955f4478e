"""SFTP imports (DESIGN.md, Reports, MEP and SFTP imports): an account's SFTP connections,
when each running sftp entry polls next, and the import performance table.

Connection rows carry their secret (`password` or `privateKey`) whole: only
`services/sftp` shapes what a client sees ("set"). An import row is a file imported
(by name and checksum: a file with both already imported into the flow is not imported
again) or a poll that failed (`error`, which never holds a secret).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.domain.imports import Row
from tidings.domain.lifecycle import Status
from tidings.domain.people import STANDARD_ATTRIBUTES, merge_attributes
from tidings.store.dialect import dialect_of_conn, insert_values, json_param, param
from tidings.store.ids import next_ids
from tidings.store.person_refs import find_people
from tidings.store.tables import (
    flow_versions,
    sftp_connections,
    sftp_imports,
    sftp_polls,
)

CHUNK = 500


class SftpConnectionRow(NamedTuple):
    id: int
    account_id: int
    name: str
    host: str
    port: int
    username: str
    secrets: Mapping[str, str]
    host_key: str
    created_at: int
    updated_at: int


_COLUMNS = (
    sftp_connections.c.id,
    sftp_connections.c.account_id,
    sftp_connections.c.name,
    sftp_connections.c.host,
    sftp_connections.c.port,
    sftp_connections.c.username,
    sftp_connections.c.secrets,
    sftp_connections.c.host_key,
    sftp_connections.c.created_at,
    sftp_connections.c.updated_at,
)


def _row(r: Any) -> SftpConnectionRow:
    return SftpConnectionRow(
        int(r.id),
        int(r.account_id),
        r.name,
        r.host,
        int(r.port),
        r.username,
        dict(r.secrets or {}),
        r.host_key,
        r.created_at,
        r.updated_at,
    )


# --- connections ---------------------------------------------------------------------------


def create_connection(
    conn: Connection, account_id: int, values: Mapping[str, Any], now: int
) -> SftpConnectionRow:
    """`values`: name, host, port, username, secrets, host_key."""
    created = conn.execute(
        insert(sftp_connections)
        .values(account_id=account_id, **values, created_at=now, updated_at=now)
        .returning(sftp_connections.c.id)
    ).scalar_one()
    return read_connection(conn, account_id, int(created))


def read_connection(conn: Connection, account_id: int, connection_id: int) -> SftpConnectionRow:
    found = conn.execute(
        select(*_COLUMNS).where(
            sftp_connections.c.account_id == account_id, sftp_connections.c.id == connection_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"SFTP connection {connection_id} not found")
    return _row(found)


def list_connections(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[SftpConnectionRow]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(sftp_connections.c.account_id == account_id)
        .order_by(sftp_connections.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_row(r) for r in rows]


def update_connection(
    conn: Connection, account_id: int, connection_id: int, values: Mapping[str, Any], now: int
) -> SftpConnectionRow:
    read_connection(conn, account_id, connection_id)
    conn.execute(
        update(sftp_connections)
        .where(sftp_connections.c.account_id == account_id, sftp_connections.c.id == connection_id)
        .values(**values, updated_at=now)
    )
    return read_connection(conn, account_id, connection_id)


def delete_connection(conn: Connection, account_id: int, connection_id: int) -> None:
    read_connection(conn, account_id, connection_id)
    conn.execute(
        delete(sftp_connections).where(
            sftp_connections.c.account_id == account_id, sftp_connections.c.id == connection_id
        )
    )


def connection_names(conn: Connection, account_id: int) -> dict[int, str]:
    """id -> name of the account's SFTP connections (what flow validation reads)."""
    rows = conn.execute(
        select(sftp_connections.c.id, sftp_connections.c.name).where(
            sftp_connections.c.account_id == account_id
        )
    ).all()
    return {int(r.id): r.name for r in rows}


def find_connection(conn: Connection, account_id: int, ref: str) -> SftpConnectionRow | None:
    """The account's connection named `ref`, else the one whose id `ref` spells."""
    named = conn.execute(
        select(*_COLUMNS)
        .where(sftp_connections.c.account_id == account_id, sftp_connections.c.name == ref)
        .order_by(sftp_connections.c.id)
        .limit(1)
    ).first()
    if named is not None:
        return _row(named)
    if ref.isdigit() and len(ref) < 19:
        try:
            return read_connection(conn, account_id, int(ref))
        except NotFound:
            return None
    return None


# --- polls ---------------------------------------------------------------------------------


class SftpVersion(NamedTuple):
    account_id: int
    flow_id: int
    version: int
    document: Mapping[str, Any]
    launched_at: int
    next_at: int | None  # None: never polled


def sftp_versions(conn: Connection) -> list[SftpVersion]:
    """Every active version whose entry is `sftp`, with its next poll."""
    rows = conn.execute(
        select(
            flow_versions.c.account_id,
            flow_versions.c.flow_id,
            flow_versions.c.version,
            flow_versions.c.document,
            flow_versions.c.launched_at,
            sftp_polls.c.next_at,
        )
        .select_from(
            flow_versions.outerjoin(
                sftp_polls,
                (sftp_polls.c.flow_id == flow_versions.c.flow_id)
                & (sftp_polls.c.version == flow_versions.c.version),
            )
        )
        .where(flow_versions.c.status == Status.active.value)
    ).all()
    out: list[SftpVersion] = []
    for r in rows:
        entry = (r.document or {}).get("entry") or {}
        if entry.get("type") == "sftp":
            out.append(
                SftpVersion(
                    int(r.account_id),
                    int(r.flow_id),
                    int(r.version),
                    r.document,
                    int(r.launched_at or 0),
                    r.next_at,
                )
            )
    return out


def next_poll(conn: Connection) -> int | None:
    """The next instant an sftp entry polls (a version never polled: its launch)."""
    due = [v.launched_at if v.next_at is None else v.next_at for v in sftp_versions(conn)]
    return min(due) if due else None


def set_poll(
    conn: Connection, account_id: int, flow_id: int, version: int, polled_at: int, next_at: int
) -> None:
    conn.execute(
        delete(sftp_polls).where(
            sftp_polls.c.account_id == account_id,
            sftp_polls.c.flow_id == flow_id,
            sftp_polls.c.version == version,
        )
    )
    conn.execute(
        insert(sftp_polls).values(
            account_id=account_id,
            flow_id=flow_id,
            version=version,
            polled_at=polled_at,
            next_at=next_at,
        )
    )


# --- imports -------------------------------------------------------------------------------


def imported_files(
    conn: Connection, account_id: int, flow_id: int, names: Sequence[str]
) -> set[tuple[str, str]]:
    """(file, checksum) of those of `names` already imported into the flow."""
    found: set[tuple[str, str]] = set()
    wanted = list(dict.fromkeys(names))
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(sftp_imports.c.file, sftp_imports.c.checksum).where(
                sftp_imports.c.account_id == account_id,
                sftp_imports.c.flow_id == flow_id,
                sftp_imports.c.file.in_(wanted[start : start + CHUNK]),
                sftp_imports.c.checksum.is_not(None),
            )
        ).all()
        found.update((r.file, r.checksum) for r in rows)
    return found


def add_import(
    conn: Connection,
    account_id: int,
    flow_id: int,
    version: int,
    *,
    fetched_at: int,
    connection: str,
    file: str | None,
    checksum: str | None,
    total: int,
    valid: int,
    invalid: int,
    error: str | None,
) -> None:
    conn.execute(
        insert(sftp_imports).values(
            account_id=account_id,
            flow_id=flow_id,
            version=version,
            fetched_at=fetched_at,
            connection=connection[:200],
            file=None if file is None else file[:1024],
            checksum=checksum,
            total=total,
            valid=valid,
            invalid=invalid,
            error=None if error is None else error[:500],
        )
    )


IMPORT_FIELDS = ("fetchedAt", "connection", "file", "total", "valid", "invalid", "error")


def _import_json(r: Any) -> dict[str, Any]:
    return {
        "fetchedAt": format_micros(r.fetched_at),
        "connection": r.connection,
        "file": r.file,
        "total": r.total,
        "valid": r.valid,
        "invalid": r.invalid,
        "error": r.error,
    }


def _imports_query(account_id: int, flow_id: int) -> Any:
    return (
        select(sftp_imports)
        .where(sftp_imports.c.account_id == account_id, sftp_imports.c.flow_id == flow_id)
        .order_by(sftp_imports.c.fetched_at.desc(), sftp_imports.c.id.desc())
    )


def list_imports(
    conn: Connection, account_id: int, flow_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The flow's imports, newest first."""
    rows = conn.execute(_imports_query(account_id, flow_id).limit(limit).offset(offset)).all()
    return [_import_json(r) for r in rows]


def import_rows(
    conn: Connection, account_id: int, flow_id: int
) -> tuple[list[str], Iterator[list[Any]]]:
    """The imports report of a flow: its header, and its rows newest first (cells as
    read; a report writer escapes them), read in pages while the caller holds `conn`."""

    def rows() -> Iterator[list[Any]]:
        offset = 0
        while True:
            page = list_imports(conn, account_id, flow_id, limit=1000, offset=offset)
            for item in page:
                yield [item[f] for f in IMPORT_FIELDS]
            if len(page) < 1000:
                return
            offset += len(page)

    return list(IMPORT_FIELDS), rows()


def count_imports(conn: Connection, account_id: int, flow_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                sftp_imports.c.account_id == account_id, sftp_imports.c.flow_id == flow_id
            )
        ).scalar_one()
    )


# --- people by contact ---------------------------------------------------------------------


# --- new people of an import, set-based ------------------------------------------------------


def create_people(
    conn: Connection, account_id: int, rows: Sequence[Row], now: int
) -> dict[str, int]:
    """Create a person for each row whose externalId the account does not know yet (the
    rows' externalIds are set and distinct): multi-row INSERTs of the people and their
    contacts, as `people.write_people` would write them (no tags, companies or consent);
    answer externalId -> id of the people created (the others are skipped). Their ids
    are taken beforehand (`next_ids`), so nothing is read back."""
    if not rows:
        return {}
    known = find_people(conn, account_id, [row.external_id or "" for row in rows])
    fresh = [row for row in rows if row.external_id not in known]
    dialect = dialect_of_conn(conn)
    p, j = param(dialect), json_param(dialect)
    names = list(STANDARD_ATTRIBUTES)
    columns = list(STANDARD_ATTRIBUTES.values())
    ids = next_ids(conn, len(fresh), "people")
    people: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    for pid, row in zip(ids, fresh, strict=True):
        standard = row.standard
        attributes = merge_attributes({}, row.attributes) if row.attributes else None
        people.append(
            (
                pid,
                account_id,
                row.external_id,
                *[standard.get(name) for name in names],
                orjson.dumps(attributes).decode() if attributes else None,
                now,
                now,
            )
        )
        if row.phone is not None:
            contacts.append((account_id, pid, "phone", row.phone, 0))
        if row.email is not None:
            contacts.append((account_id, pid, "email", row.email, 0))
    insert_values(
        conn,
        f"INSERT INTO people (id, account_id, external_id, {', '.join(columns)}, attributes, "
        "created_at, updated_at)",
        ", ".join([p] * (3 + len(columns)) + [j, p, p]),
        people,
    )
    insert_values(
        conn,
        "INSERT INTO person_contacts (account_id, person_id, kind, value, position)",
        ", ".join([p] * 5),
        contacts,
    )
    return {row.external_id or "": pid for pid, row in zip(ids, fresh, strict=True)}
