"""A predefined audience (segments, tags, people, companies) as one SQL condition on
`people`: the launch summary counts it, and the engine streams it in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select

from tidings.domain.errors import Conflict
from tidings.store.dialect import dialect_of, json_param, param
from tidings.store.segment_sql import condition
from tidings.store.segments import segment_rule
from tidings.store.tables import (
    companies,
    inbox,
    people,
    person_companies,
    person_tags,
    segments,
    tags,
)
from tidings.store.wakeups import notify_work


@dataclass(frozen=True)
class Sources:
    """Who a predefined audience names; ids or names, as the flow document holds them."""

    segments: Sequence[int | str] = ()
    tags: Sequence[str] = ()
    people: Sequence[int | str] = ()
    companies: Sequence[int | str] = ()

    @classmethod
    def of(cls, entry: Any) -> Sources:
        return cls(
            segments=list(getattr(entry, "segments", []) or []),
            tags=list(getattr(entry, "tags", []) or []),
            people=list(getattr(entry, "people", []) or []),
            companies=list(getattr(entry, "companies", []) or []),
        )


def _ids_and_names(refs: Sequence[int | str]) -> tuple[list[int], list[str]]:
    ids = [r for r in refs if isinstance(r, int)]
    names = [r for r in refs if isinstance(r, str)]
    return ids, names


def audience_condition(
    conn: Connection, account_id: int, sources: Sources, *, now: int, by_id: bool = False
) -> ColumnElement[bool]:
    """People of `account_id` named by any source. A segment that no longer exists is a
    409 naming it (the flow was valid when launched; its audience must still be).
    `by_id`: the account is tested on each row, not looked up by its index, so that SQLite
    walks the table in id order (by the index it sorts the members for an id order)."""
    dialect = dialect_of(conn.engine.url.drivername)
    parts: list[ColumnElement[bool]] = []
    seg_ids, seg_names = _ids_and_names(sources.segments)
    if seg_names:
        # A Result has .keys() (its columns), so dict() of it would read it as a mapping.
        found: dict[str, int] = {
            name: segment_id
            for name, segment_id in conn.execute(
                select(segments.c.name, segments.c.id).where(
                    segments.c.account_id == account_id, segments.c.name.in_(seg_names)
                )
            )
        }
        missing = [n for n in seg_names if n not in found]
        if missing:
            raise Conflict(f"segment {missing[0]!r} does not exist")
        seg_ids += [found[n] for n in seg_names]
    for segment_id in dict.fromkeys(seg_ids):
        parts.append(
            condition(dialect, account_id, segment_rule(conn, account_id, segment_id), now)
        )
    if sources.tags:
        parts.append(
            exists().where(
                person_tags.c.person_id == people.c.id,
                person_tags.c.tag_id == tags.c.id,
                tags.c.account_id == account_id,
                tags.c.name.in_(list(sources.tags)),
            )
        )
    person_ids, external_ids = _ids_and_names(sources.people)
    if person_ids:
        parts.append(people.c.id.in_(person_ids))
    if external_ids:
        parts.append(people.c.external_id.in_(external_ids))
    company_ids, company_names = _ids_and_names(sources.companies)
    if company_ids or company_names:
        parts.append(
            exists().where(
                person_companies.c.person_id == people.c.id,
                person_companies.c.company_id == companies.c.id,
                companies.c.account_id == account_id,
                or_(companies.c.id.in_(company_ids), companies.c.name.in_(company_names)),
            )
        )
    account = (people.c.account_id + 0) if by_id else people.c.account_id
    return and_(account == account_id, or_(false(), *parts))


def entries_queued(conn: Connection, account_id: int, flow_id: int) -> bool:
    """Whether an entry into `flow_id` still waits in the inbox (a bundle or a person):
    a one-off audience has entered only once none does."""
    found = conn.execute(
        select(inbox.c.id)
        .where(
            inbox.c.account_id == account_id, inbox.c.kind == "enter", inbox.c.flow_id == flow_id
        )
        .limit(1)
    ).first()
    return found is not None


def count_audience(conn: Connection, account_id: int, sources: Sources, *, now: int) -> int:
    query = (
        select(func.count())
        .select_from(people)
        .where(audience_condition(conn, account_id, sources, now=now))
    )
    return int(conn.execute(query).scalar_one())


# People a bundle holds (store/journeys.BUNDLE): a launch of a million queues 500 rows.
BUNDLE_SIZE = 2000


def enqueue_audience(
    conn: Connection,
    account_id: int,
    flow_id: int,
    sources: Sources,
    *,
    now: int,
    partitions: int,
    only_new: bool,
) -> int:
    """Queue an entry for every member, in bundles of up to BUNDLE_SIZE people (a row
    for each bundle, store/journeys.BUNDLE); answer how many people. `only_new` skips
    people who were ever in the flow or are queued for it: the real-time audience lets
    in those who joined since."""
    from sqlalchemy import Integer, column, not_, text

    from tidings.store.journeys import BUNDLE
    from tidings.store.tables import participations

    dialect = dialect_of(conn.engine.url.drivername)
    postgres = dialect == "postgresql"
    condition = audience_condition(conn, account_id, sources, now=now, by_id=not postgres)
    if only_new:
        bundled = (
            "SELECT CAST(jsonb_array_elements_text(payload->'people') AS BIGINT) FROM inbox "
            if postgres
            else "SELECT j.value FROM inbox, json_each(inbox.payload, '$.people') AS j "
        )
        queued = (
            text(
                f"{bundled}WHERE kind = 'enter' AND flow_id = :queued_flow "
                "UNION SELECT person_id FROM inbox WHERE kind = 'enter' AND flow_id = :queued_flow"
            )
            .bindparams(queued_flow=flow_id)
            .columns(column("person", Integer))
        )
        condition = and_(
            condition,
            not_(
                exists().where(
                    participations.c.flow_id == flow_id,
                    participations.c.person_id == people.c.id,
                )
            ),
            people.c.id.not_in(queued),
        )
    # The members in id order, into bundles as they come: on PostgreSQL of one partition
    # each (engines lease partitions); on SQLite one engine holds them all, and a bundle
    # of neighbours reads their rows from a few pages.
    by_partition = postgres and partitions > 1
    members = select(people.c.id).where(condition).order_by(people.c.id)
    insert = (
        "INSERT INTO inbox (account_id, partition, person_id, kind, flow_id, payload, due_at) "
        f"VALUES ({', '.join([param(dialect)] * 3)}, 'enter', {param(dialect)}, "
        f"{json_param(dialect)}, {param(dialect)})"
    )
    rows: list[tuple[Any, ...]] = []
    open_: dict[int, list[int]] = defaultdict(list)
    added = 0

    def close(bundle: list[int]) -> None:
        nonlocal added
        payload = orjson.dumps({BUNDLE: bundle}).decode()
        rows.append((account_id, bundle[0] % partitions, bundle[0], flow_id, payload, now))
        added += len(bundle)
        if len(rows) >= 50:  # a launch of millions holds a few bundles at a time
            conn.exec_driver_sql(insert, rows)
            rows.clear()

    for chunk in _ids(conn, members, BUNDLE_SIZE * 10):
        for person in chunk:
            bundle = open_[person % partitions if by_partition else 0]
            bundle.append(person)
            if len(bundle) == BUNDLE_SIZE:
                close(bundle)
                bundle.clear()  # close() copied it into the payload
    for bundle in open_.values():
        if bundle:
            close(bundle)
    if rows:
        conn.exec_driver_sql(insert, rows)
    if added:
        notify_work(conn)
    return added


def _ids(conn: Connection, query: Any, size: int) -> Iterator[list[int]]:
    """The ids `query` selects, `size` at a time, straight from the driver's cursor: a
    launch of millions holds a chunk at a time, and skips the per-row work of
    SQLAlchemy's results."""
    from tidings.store.journeys import stream

    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "postgresql":
        params: Any = compiled.params
    else:
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    for rows in stream(conn, str(compiled), params, size):
        yield [row[0] for row in rows]
