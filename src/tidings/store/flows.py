"""Flows and their versions. A flow is one row on the All Communications list; each
version holds one document and its own status; the flow's status follows its versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import NotFound
from tidings.domain.lifecycle import RUNNING, Status, flow_status
from tidings.store.dialect import for_update
from tidings.store.tables import audience_members, flow_versions, flows, participations


@dataclass(frozen=True)
class Version:
    flow_id: int
    version: int
    status: Status
    document: dict[str, Any]
    created_at: int
    launched_at: int | None
    finished_at: int | None
    failure: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status.value,
            "createdAt": format_micros(self.created_at),
            "launchedAt": _instant(self.launched_at),
            "finishedAt": _instant(self.finished_at),
            "failure": self.failure,
        }


@dataclass(frozen=True)
class Flow:
    id: int
    name: str
    status: Status
    starts_at: int | None
    ends_at: int | None
    duplicate_of: int | None
    created_at: int
    updated_at: int


def _instant(value: int | None) -> str | None:
    return None if value is None else format_micros(value)


def _version(row: Any) -> Version:
    return Version(
        flow_id=row.flow_id,
        version=row.version,
        status=Status(row.status),
        document=dict(row.document),
        created_at=row.created_at,
        launched_at=row.launched_at,
        finished_at=row.finished_at,
        failure=row.failure,
    )


def _flow(row: Any) -> Flow:
    return Flow(
        id=row.id,
        name=row.name,
        status=Status(row.status),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        duplicate_of=row.duplicate_of,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_flow(
    conn: Connection,
    account_id: int,
    *,
    document: dict[str, Any],
    now: int,
    duplicate_of: int | None = None,
) -> int:
    flow_id: int = conn.execute(
        insert(flows)
        .values(
            account_id=account_id,
            name=str(document.get("name") or "")[:255],
            status=Status.draft.value,
            duplicate_of=duplicate_of,
            created_at=now,
            updated_at=now,
        )
        .returning(flows.c.id)
    ).scalar_one()
    conn.execute(
        insert(flow_versions).values(
            account_id=account_id,
            flow_id=flow_id,
            version=1,
            status=Status.draft.value,
            document=document,
            created_at=now,
        )
    )
    return flow_id


def read_flow(conn: Connection, account_id: int, flow_id: int, *, lock: bool = False) -> Flow:
    query = select(flows).where(flows.c.account_id == account_id, flows.c.id == flow_id)
    if lock:
        query = for_update(conn, query)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"flow {flow_id} does not exist")
    return _flow(row)


def list_versions(conn: Connection, account_id: int, flow_id: int) -> list[Version]:
    rows = conn.execute(
        select(flow_versions)
        .where(flow_versions.c.account_id == account_id, flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version)
    ).all()
    return [_version(r) for r in rows]


def read_version(conn: Connection, account_id: int, flow_id: int, version: int) -> Version:
    row = conn.execute(
        select(flow_versions).where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.flow_id == flow_id,
            flow_versions.c.version == version,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"flow {flow_id} has no version {version}")
    return _version(row)


def latest_version(conn: Connection, account_id: int, flow_id: int) -> Version:
    versions = list_versions(conn, account_id, flow_id)
    if not versions:
        raise NotFound(f"flow {flow_id} does not exist")
    return versions[-1]


def list_flows(
    conn: Connection,
    account_id: int,
    *,
    status: Status | None,
    q: str | None,
    limit: int,
    offset: int,
) -> list[Flow]:
    query = select(flows).where(flows.c.account_id == account_id)
    if status is not None:
        query = query.where(flows.c.status == status.value)
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(flows.c.name).like(f"%{escaped}%", escape="\\"))
    query = query.order_by(flows.c.updated_at.desc(), flows.c.id.desc()).limit(limit + 1)
    return [_flow(r) for r in conn.execute(query.offset(offset))]


def add_version(
    conn: Connection, account_id: int, flow_id: int, *, document: dict[str, Any], now: int
) -> Version:
    number = latest_version(conn, account_id, flow_id).version + 1
    conn.execute(
        insert(flow_versions).values(
            account_id=account_id,
            flow_id=flow_id,
            version=number,
            status=Status.draft.value,
            document=document,
            created_at=now,
        )
    )
    touch_flow(conn, account_id, flow_id, now)
    return read_version(conn, account_id, flow_id, number)


def update_document(
    conn: Connection,
    account_id: int,
    flow_id: int,
    version: int,
    *,
    document: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        update(flow_versions)
        .where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.flow_id == flow_id,
            flow_versions.c.version == version,
        )
        .values(document=document)
    )
    touch_flow(conn, account_id, flow_id, now)


def set_version_status(
    conn: Connection,
    account_id: int,
    flow_id: int,
    version: int,
    status: Status,
    *,
    now: int,
    failure: str | None = None,
) -> None:
    """A version's new status (and the instants it stamps); `failure` is why it failed."""
    values: dict[str, Any] = {"status": status.value}
    if failure is not None:
        values["failure"] = failure
    if status in (Status.active, Status.scheduled):
        values["launched_at"] = now
    if status in (Status.finished, Status.canceled, Status.failed):
        values["finished_at"] = now
    conn.execute(
        update(flow_versions)
        .where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.flow_id == flow_id,
            flow_versions.c.version == version,
        )
        .values(**values)
    )
    _statuses_changed(conn, account_id, flow_id, now)


def _statuses_changed(conn: Connection, account_id: int, flow_id: int, now: int) -> None:
    """The flow follows its versions' statuses (`touch_flow`); when no version lets people
    in any more, a real-time audience's members are kept no longer (a launch seeds them
    again: store/audience.seed_members)."""
    if touch_flow(conn, account_id, flow_id, now) not in (Status.active, Status.paused):
        conn.execute(
            delete(audience_members).where(
                audience_members.c.account_id == account_id,
                audience_members.c.flow_id == flow_id,
            )
        )


def fail_version(conn: Connection, flow_id: int, version: int, reason: str, *, now: int) -> bool:
    """The engine's word that a version failed (engine/failures.py): its status becomes
    `failed` with `reason`, and its live people are held where they are (phase `held`,
    out of every due index) until the version is canceled. Answers False, changing
    nothing, when the version no longer runs (it ended, or failed already)."""
    row = conn.execute(
        select(flow_versions.c.account_id, flow_versions.c.status).where(
            flow_versions.c.flow_id == flow_id, flow_versions.c.version == version
        )
    ).one_or_none()
    if row is None or Status(row.status) not in RUNNING:
        return False
    account_id = row.account_id
    set_version_status(conn, account_id, flow_id, version, Status.failed, now=now, failure=reason)
    conn.execute(
        update(participations)
        .where(
            participations.c.account_id == account_id,
            participations.c.flow_id == flow_id,
            participations.c.version == version,
            participations.c.phase.in_(["waiting", "running"]),
        )
        .values(phase="held")
    )
    return True


def touch_flow(conn: Connection, account_id: int, flow_id: int, now: int) -> Status:
    """Recompute the flow's name and status from its versions; stamp the change."""
    versions = list_versions(conn, account_id, flow_id)
    status = flow_status(v.status for v in versions)
    name = str(versions[-1].document.get("name") or "")[:255] if versions else ""
    conn.execute(
        update(flows)
        .where(flows.c.account_id == account_id, flows.c.id == flow_id)
        .values(status=status.value, name=name, updated_at=now)
    )
    return status


def set_schedule(
    conn: Connection, account_id: int, flow_id: int, *, starts_at: int | None, ends_at: int | None
) -> None:
    conn.execute(
        update(flows)
        .where(flows.c.account_id == account_id, flows.c.id == flow_id)
        .values(starts_at=starts_at, ends_at=ends_at)
    )


def delete_flow(conn: Connection, account_id: int, flow_id: int) -> None:
    conn.execute(delete(flows).where(flows.c.account_id == account_id, flows.c.id == flow_id))


def delete_version(conn: Connection, account_id: int, flow_id: int, version: int, now: int) -> None:
    conn.execute(
        delete(flow_versions).where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.flow_id == flow_id,
            flow_versions.c.version == version,
        )
    )
    touch_flow(conn, account_id, flow_id, now)
