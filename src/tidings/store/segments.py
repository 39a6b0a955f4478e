"""Segments: saved audience rules, their members and how many there are.

A segment keeps its rule in canonical JSON (`domain.segments.rule_json`). The rule is
checked again against the account's current attribute and event definitions whenever it
is evaluated: a rule that names an attribute deleted since is a conflict, never a guess.
Members and counts are one query each (`store/segment_sql.py`), evaluated at `now`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, NotFound, ProblemList
from tidings.domain.segments import Rule, RuleSchema, check_rule, rule_json
from tidings.store.definitions import attribute_types, event_types
from tidings.store.dialect import dialect_of_conn
from tidings.store.segment_sql import condition
from tidings.store.tables import people, segments


class Keep(Enum):
    """`update_segment`'s default: leave the field as it is."""

    keep = "keep"


KEEP = Keep.keep


def rule_schema(conn: Connection, account_id: int) -> RuleSchema:
    """What the account's rules may name: its custom attributes and its events."""
    return RuleSchema(
        attributes=attribute_types(conn, account_id), events=event_types(conn, account_id)
    )


def _segment_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "rule": row.rule,
        "createdAt": format_micros(row.created_at),
        "updatedAt": format_micros(row.updated_at),
    }


def _refuse_duplicate(
    conn: Connection, account_id: int, name: str, segment_id: int | None = None
) -> None:
    query = select(segments.c.id).where(
        segments.c.account_id == account_id, segments.c.name == name
    )
    if segment_id is not None:
        query = query.where(segments.c.id != segment_id)
    if conn.execute(query).first() is not None:
        raise Conflict(f"a segment named {name!r} already exists")


def create_segment(
    conn: Connection,
    account_id: int,
    *,
    name: str,
    description: str | None,
    rule: Rule,
    now: int,
) -> dict[str, Any]:
    _refuse_duplicate(conn, account_id, name)
    segment_id = conn.execute(
        insert(segments)
        .values(
            account_id=account_id,
            name=name,
            description=description,
            rule=rule_json(rule),
            created_at=now,
            updated_at=now,
        )
        .returning(segments.c.id)
    ).scalar_one()
    return read_segment(conn, account_id, segment_id)


def read_segment(conn: Connection, account_id: int, segment_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(segments).where(segments.c.account_id == account_id, segments.c.id == segment_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"segment {segment_id} does not exist")
    return _segment_row(row)


def list_segments(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The account's segments by name, `limit + 1` of them (see `api.paging`)."""
    rows = conn.execute(
        select(segments)
        .where(segments.c.account_id == account_id)
        .order_by(segments.c.name, segments.c.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return [_segment_row(r) for r in rows]


def update_segment(
    conn: Connection,
    account_id: int,
    segment_id: int,
    *,
    name: str | Keep = KEEP,
    description: str | Keep | None = KEEP,
    rule: Rule | Keep = KEEP,
    now: int,
) -> dict[str, Any]:
    read_segment(conn, account_id, segment_id)
    values: dict[str, Any] = {}
    if not isinstance(name, Keep):
        _refuse_duplicate(conn, account_id, name, segment_id)
        values["name"] = name
    if not isinstance(description, Keep):
        values["description"] = description
    if not isinstance(rule, Keep):
        values["rule"] = rule_json(rule)
    if values:
        conn.execute(
            update(segments)
            .where(segments.c.account_id == account_id, segments.c.id == segment_id)
            .values(**values, updated_at=now)
        )
    return read_segment(conn, account_id, segment_id)


def delete_segment(conn: Connection, account_id: int, segment_id: int) -> None:
    done = conn.execute(
        delete(segments).where(segments.c.account_id == account_id, segments.c.id == segment_id)
    )
    if done.rowcount == 0:
        raise NotFound(f"segment {segment_id} does not exist")


def segment_rule(conn: Connection, account_id: int, segment_id: int) -> Rule:
    """The segment's rule, checked against the account's definitions as they are now."""
    stored = read_segment(conn, account_id, segment_id)["rule"]
    problems = ProblemList()
    rule = check_rule(stored, rule_schema(conn, account_id), problems)
    if rule is None:
        reasons = "; ".join(f"{p.field}: {p.message}" for p in problems.items)
        raise Conflict(
            f"segment {segment_id} can no longer be evaluated: {reasons}; change its rule",
            [p.as_dict() for p in problems.items],
        )
    return rule


def count_rule(conn: Connection, account_id: int, rule: Rule, *, now: int) -> int:
    """How many of the account's people `rule` holds for at `now`."""
    dialect = dialect_of_conn(conn)
    query = (
        select(func.count())
        .select_from(people)
        .where(people.c.account_id == account_id, condition(dialect, account_id, rule, now))
    )
    return int(conn.execute(query).scalar_one())


def rule_members(
    conn: Connection, account_id: int, rule: Rule, *, now: int, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Person summaries of the people `rule` holds for at `now`, by id, `limit + 1`."""
    dialect = dialect_of_conn(conn)
    rows = conn.execute(
        select(people.c.id, people.c.external_id, people.c.first_name, people.c.last_name)
        .where(people.c.account_id == account_id, condition(dialect, account_id, rule, now))
        .order_by(people.c.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return [
        {
            "id": r.id,
            "externalId": r.external_id,
            "firstName": r.first_name,
            "lastName": r.last_name,
        }
        for r in rows
    ]


def members(
    conn: Connection, account_id: int, segment_id: int, *, now: int, limit: int, offset: int
) -> list[dict[str, Any]]:
    rule = segment_rule(conn, account_id, segment_id)
    return rule_members(conn, account_id, rule, now=now, limit=limit, offset=offset)


def count(conn: Connection, account_id: int, segment_id: int, *, now: int) -> int:
    return count_rule(conn, account_id, segment_rule(conn, account_id, segment_id), now=now)
