"""SMS composed by the store, for set-based entries (bulk/audience.take_entries).

A launch sends the same template to a million people; composing each message in Python
(load the person, render, count the parts, build the outbox row) costs more than the
whole store's work for them, and it holds the interpreter the writer needs. When the
template is literal text and the person's text fields (`Hi {{ person.firstName }}`,
`{{ person.city | default: "there" }}`; `domain/templates.pieces`), the store builds
each person's text itself, in the statement that writes their outbox row:

- the text: the literals (and what is the same for everyone: variables, `now`) joined
  with the person's columns, `COALESCE`d as Liquid prints a missing or empty field;
- the recipient: the person's first phone number (by position), as `Run.recipient`;
- the parts: a text of printable ASCII without GSM-7's two-septet characters (and
  without the backtick, which GSM-7 lacks) is GSM-7 of one septet a character: one
  part up to 160, else 153 a part. Any other text is counted by `domain/sms.parts`
  afterwards, its rows only.

The path is taken only when no text can be empty (a literal that is not blank) or
reach the output limit (short literals, bounded columns), so every message goes; people
without a phone are not entered here: their entries stay in the inbox for the general
path, which traces why nothing was sent. tests/engine/test_uniform.py runs the same
launches with and without this path and compares the sandbox messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from tidings.domain import sms
from tidings.domain.journey.elements.content import SmsContent
from tidings.domain.journey.elements.messages import Send
from tidings.domain.journey.program import Program
from tidings.domain.journey.uniform import UniformMove, entry_data
from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.domain.templates import Field, Piece, pieces
from tidings.store.dialect import Dialect, dialect_of, ids_in, param
from tidings.store.ids import next_ids

# The person's text fields a template may print here: API name -> people column.
COLUMNS: Final = {
    "externalId": "external_id",
    **{k: c for k, c in STANDARD_ATTRIBUTES.items() if k not in ("birthDate", "timezone")},
}
FIELDS: Final = frozenset(COLUMNS)
MAX_LITERAL = 4000  # characters of literal text (a column is at most 255)
MAX_FIELDS = 20
# Printable ASCII without the backtick (not in GSM 03.38) and the extension table.
_GLOB_ASCII = "*[^ -~]*"
_GLOB_WIDE = "*[]`^{}~|[\\]*"
_RE_ASCII = "^[ -~]*$"
_RE_WIDE = "[]`^{}~|[\\\\]"


@dataclass(frozen=True)
class SqlSend:
    """One SMS element of the path, as the store composes it."""

    element: str
    sender: str
    pieces: tuple[Piece, ...]


def plan(program: Program, move: UniformMove, now: datetime) -> list[SqlSend] | None:
    """The sends of an entry `move` as SQL texts, or None when one of them cannot be."""
    if not move.sends:
        return None
    data = entry_data(program, move, now)  # the same for everyone; the person's are Fields
    out = []
    for element in move.sends:
        handler = program.handlers[element]
        if not isinstance(handler, Send) or not isinstance(handler.content, SmsContent):
            return None
        template = handler.content.text
        if template is None:
            return None
        found = pieces(template, data, FIELDS)
        if found is None:
            return None
        literal = "".join(p for p in found if isinstance(p, str))
        fields = sum(isinstance(p, Field) for p in found)
        if not literal.strip() or len(literal) > MAX_LITERAL or fields > MAX_FIELDS:
            return None
        out.append(SqlSend(element, handler.content.sender, tuple(found)))
    return out


def has_phone(person: str) -> str:
    """SQL: the person (`person`, a column) has a phone number."""
    return (
        f"EXISTS (SELECT 1 FROM person_contacts c WHERE c.person_id = {person} "
        "AND c.kind = 'phone')"
    )


def _text(dialect: Dialect, found: tuple[Piece, ...]) -> tuple[str, list[Any]]:
    """SQL of the text (over `people`) and its parameters."""
    p = param(dialect)
    literal = f"CAST({p} AS TEXT)" if dialect == "postgresql" else p
    sql: list[str] = []
    params: list[Any] = []
    for piece in found:
        if isinstance(piece, str):
            if piece:
                sql.append(literal)
                params.append(piece)
            continue
        column = f"people.{COLUMNS[piece.key]}"
        if piece.default is None:
            sql.append(f"COALESCE({column}, '')")
        else:
            sql.append(
                f"(CASE WHEN {column} IS NULL OR {column} = '' THEN {literal} ELSE {column} END)"
            )
            params.append(piece.default)
    return " || ".join(sql) or "''", params


def _parts(dialect: Dialect, text: str) -> tuple[str, list[Any]]:
    """SQL of the parts of a plain GSM-7 text (`text` an SQL expression), else NULL."""
    p = param(dialect)
    if dialect == "postgresql":
        plain = f"{text} ~ {p} AND {text} !~ {p}"
        params: list[Any] = [_RE_ASCII, _RE_WIDE]
    else:
        plain = f"{text} NOT GLOB {p} AND {text} NOT GLOB {p}"
        params = [_GLOB_ASCII, _GLOB_WIDE]
    return (
        f"CASE WHEN {plain} THEN (CASE WHEN length({text}) <= {sms.GSM_SINGLE} THEN 1 "
        f"ELSE (length({text}) + {sms.GSM_PART - 1}) / {sms.GSM_PART} END) END",
        params,
    )


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
    dialect = dialect_of(conn.engine.url.drivername)
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
        parts, parts_params = _parts(dialect, "m.t")
        first = base + k
        if dialect == "postgresql":
            payload = (
                f"jsonb_build_object('to', m.phone, 'from', CAST({p} AS TEXT), 'content', "
                f"jsonb_build_object('text', m.t), 'parts', {parts}, 'wantsResult', false)"
            )
        else:
            payload = (
                f"json_object('to', m.phone, 'from', {p}, 'content', json_object('text', m.t), "
                f"'parts', {parts}, 'wantsResult', json('false'))"
            )
        conn.exec_driver_sql(
            "INSERT INTO outbox (id, account_id, participation_id, flow_id, version, element, "
            "person_id, kind, channel, payload, status, attempts, next_attempt_at, created_at, "
            f"done_at) SELECT {p} + m.rn * {count}, m.account_id, m.pid, m.flow_id, m.version, "
            f"{p}, m.person_id, 'message', 'sms', {payload}, 'done', 0, {p}, {p}, {p} FROM ("
            "SELECT pa.id AS pid, pa.account_id, pa.flow_id, pa.version, pa.person_id, "
            f"{text} AS t, (SELECT c.value FROM person_contacts c WHERE c.person_id = "
            "pa.person_id AND c.kind = 'phone' ORDER BY c.position LIMIT 1) AS phone, "
            f"{order} AS rn FROM participations pa "
            f"JOIN people ON people.id = pa.person_id WHERE {ids_in('pa.id', pids)}) AS m",
            (first, send.element, send.sender, *parts_params, at, at, at, *text_params),
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
    if dialect == "postgresql":
        return "(payload->>'parts')::int"
    return "json_extract(payload, '$.parts')"


def _count_the_rest(conn: Connection, dialect: Dialect, first: int, last: int) -> None:
    """Count the parts of the texts that are not plain GSM-7 (`domain/sms.parts`)."""
    if dialect == "postgresql":
        text, setter = (
            "payload->'content'->>'text'",
            "jsonb_set(payload, '{parts}', to_jsonb(%s::int))",
        )
    else:
        text, setter = "json_extract(payload, '$.content.text')", "json_set(payload, '$.parts', ?)"
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
