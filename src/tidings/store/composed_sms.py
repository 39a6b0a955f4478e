"""SMS the store composes, for set-based audience entries (engine/bulk/sql_sends.py
plans which): the text from literals and the person's text columns, the recipient (their
first phone number), and the parts of a plain GSM-7 text, all in the statement that
writes each outbox row; any other text's parts are counted by `domain/sms` afterwards.
Dialect differences are named in store/dialect.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from tidings.domain import sms
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.domain.templates import Piece
from tidings.store.dialect import (
    Dialect,
    dialect_of_conn,
    gsm7_plain,
    gsm7_plain_text,
    ids_in,
    json_false,
    json_field_int,
    json_field_text,
    json_object,
    json_set_int,
    param,
    sql_literal,
    text_param,
)
from tidings.store.ids import next_ids

# The person's text fields a template may print here: API name -> people column.
COLUMNS: Final = {
    "externalId": "external_id",
    **{k: c for k, c in STANDARD_ATTRIBUTES.items() if k not in ("birthDate", "timezone")},
}


@dataclass(frozen=True)
class SqlSend:
    """One SMS element of the path, as the store composes it."""

    element: str
    sender: str
    pieces: tuple[Piece, ...]
    connection: int | None = None  # written pending for this connection; None: the sandbox


def _fields(dialect: Dialect, found: tuple[Piece, ...]) -> tuple[list[str], list[Any]]:
    """SQL of each person's field the text prints (over `people`), in order, and their
    parameters."""
    literal = text_param(dialect)
    sql: list[str] = []
    params: list[Any] = []
    for piece in found:
        if isinstance(piece, str):
            continue
        column = f"people.{COLUMNS[piece.key]}"
        if piece.default is None:
            sql.append(f"COALESCE({column}, '')")
        else:
            sql.append(
                f"(CASE WHEN {column} IS NULL OR {column} = '' THEN {literal} ELSE {column} END)"
            )
            params.append(piece.default)
    return sql, params


def _text(dialect: Dialect, found: tuple[Piece, ...]) -> tuple[str, list[Any]]:
    """SQL of the text, its literals bound and its fields `m.f0`, `m.f1`... (`_fields`),
    and its parameters."""
    literal = text_param(dialect)
    sql: list[str] = []
    params: list[Any] = []
    field = 0
    for piece in found:
        if isinstance(piece, str):
            if piece:
                sql.append(literal)
                params.append(piece)
            continue
        sql.append(f"m.f{field}")
        field += 1
    return " || ".join(sql) or "''", params


def _parts(dialect: Dialect, found: tuple[Piece, ...]) -> tuple[str, list[Any]]:
    """SQL of the parts of the text when it is plain GSM-7, else NULL. The literals are
    checked here, once; SQL checks and measures only the person's fields (`m.f0`...):
    checking the whole text, which SQLite builds again at each mention, cost 1.6 µs a
    message of the 4.1 its row took."""
    literal = "".join(piece for piece in found if isinstance(piece, str))
    if not gsm7_plain_text(literal):
        return "NULL", []
    count = sum(not isinstance(piece, str) for piece in found)
    checks: list[str] = []
    params: list[Any] = []
    for i in range(count):
        check, check_params = gsm7_plain(dialect, f"m.f{i}")
        checks.append(check)
        params += check_params
    length = " + ".join([str(len(literal)), *(f"length(m.f{i})" for i in range(count))])
    sized = (
        f"CASE WHEN {length} <= {sms.GSM_SINGLE} THEN 1 "
        f"ELSE ({length} + {sms.GSM_PART - 1}) / {sms.GSM_PART} END"
    )
    if not checks:
        return f"({sized})", params
    return f"CASE WHEN {' AND '.join(checks)} THEN ({sized}) END", params


def write(
    conn: Connection,
    sends: list[SqlSend],
    participations: dict[int, int],
    at: int,
) -> tuple[list[tuple[int, int, int, str]], dict[str, int]]:
    """The outbox rows of `sends` for `participations` (participation -> person; each
    person has a phone), written done (the caller hands them over); answer them (outbox
    id, participation, person, element) and the parts they count, by element."""
    if not participations:
        return [], {}
    dialect = dialect_of_conn(conn)
    p = param(dialect)
    pids = sorted(participations)
    out: list[tuple[int, int, int, str]] = []
    # a person's messages in the path's order, person after person (as the outbox rows of
    # messages composed in Python are numbered): the k-th send of the n-th is first+n*k'
    count = len(sends)
    base = next_ids(conn, len(pids) * count, "outbox")[0]
    # each participation's rank: its distance from the first when they are numbered
    # without a gap (one writer's INSERT), else counted
    gapless = pids[-1] - pids[0] + 1 == len(pids)
    order = f"(pa.id - {int(pids[0])})" if gapless else "(row_number() OVER (ORDER BY pa.id) - 1)"
    for k, send in enumerate(sends):
        text, text_params = _text(dialect, send.pieces)
        fields, field_params = _fields(dialect, send.pieces)
        parts, parts_params = _parts(dialect, send.pieces)
        first = base + k
        payload = json_object(
            dialect,
            [
                ("to", "m.phone"),
                ("from", text_param(dialect)),
                ("content", json_object(dialect, [("text", text)])),
                ("parts", parts),
                ("wantsResult", json_false(dialect)),
            ],
        )
        columns = "".join(f"{sql} AS f{i}, " for i, sql in enumerate(fields))
        # to the sandbox: written done (the caller hands them over); through a connection:
        # pending, for its dispatcher (engine/sending.py)
        status = "'done'" if send.connection is None else "'pending'"
        done = p if send.connection is None else "NULL"
        conn.exec_driver_sql(
            "INSERT INTO outbox (id, account_id, participation_id, flow_id, version, element, "
            "person_id, kind, channel, payload, status, attempts, next_attempt_at, created_at, "
            f"done_at, connection_id) SELECT {p} + m.rn * {count}, m.account_id, m.pid, "
            f"m.flow_id, m.version, {p}, m.person_id, 'message', 'sms', {payload}, {status}, 0, "
            f"{p}, {p}, {done}, {sql_literal(send.connection)} FROM ("
            "SELECT pa.id AS pid, pa.account_id, pa.flow_id, pa.version, pa.person_id, "
            f"{columns}(SELECT c.value FROM person_contacts c WHERE c.person_id = "
            "pa.person_id AND c.kind = 'phone' ORDER BY c.position LIMIT 1) AS phone, "
            f"{order} AS rn FROM participations pa "
            f"JOIN people ON people.id = pa.person_id WHERE {ids_in('pa.id', pids)}) AS m",
            (
                first,
                send.element,
                send.sender,
                *text_params,
                *parts_params,
                at,
                at,
                *((at,) if send.connection is None else ()),
                *field_params,
            ),
        )
    last = base + len(pids) * count - 1

    def sums() -> tuple[dict[str, int], int]:
        """Parts by element, and how many texts SQL did not count."""
        found = conn.exec_driver_sql(
            f"SELECT element, sum({_parts_of(dialect)}), count(*) - count({_parts_of(dialect)}) "
            f"FROM outbox WHERE id BETWEEN {base} AND {last} GROUP BY element"
        ).all()
        return {str(e): int(n or 0) for e, n, _ in found}, sum(int(m) for _, _, m in found)

    counted, uncounted = sums()
    if uncounted:  # a text that is not plain GSM-7: counted by domain/sms, then summed again
        _count_the_rest(conn, dialect, base, last)
        counted, _ = sums()
    for index, pid in enumerate(pids):
        for k, send in enumerate(sends):
            out.append((base + index * count + k, pid, participations[pid], send.element))
    return out, counted


def _parts_of(dialect: Dialect) -> str:
    return json_field_int(dialect, "payload", "parts")


def _count_the_rest(conn: Connection, dialect: Dialect, first: int, last: int) -> None:
    """Count the parts of the texts that are not plain GSM-7 (`domain/sms.parts`)."""
    text = json_field_text(dialect, "payload", "content", "text")
    setter = json_set_int(dialect, "payload", "parts")
    rest = conn.exec_driver_sql(
        f"SELECT id, {text} FROM outbox WHERE id BETWEEN {first} AND {last} "
        f"AND {_parts_of(dialect)} IS NULL"
    ).all()
    if rest:
        p = param(dialect)
        conn.exec_driver_sql(
            f"UPDATE outbox SET payload = {setter} WHERE id = {p}",
            [(sms.parts(str(t)), int(oid)) for oid, t in rest],
        )
