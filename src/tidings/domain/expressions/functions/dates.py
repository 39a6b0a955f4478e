"""Dates and times: now, today, dateAdd, dateDiff, date, datetime, year, month, day,
hour, minute, second, weekday and formatDate.

now() is the instant in UTC; every other function reads dates on the wall clock of the
account's time zone (`EvalContext.timezone`), so today() at 23:30 UTC is already
tomorrow in Zagreb. Units are "seconds", "minutes", "hours", "days", "weeks", "months"
and "years" (singular also works); the rules are in `calendars.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final

from tidings.domain.expressions.calendars import (
    SUB_DAY,
    UNIT_ORDER,
    add,
    diff,
    local_time,
    unit_named,
    wall_midnight,
)
from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.functions.base import Function, argument, plain
from tidings.domain.expressions.kinds import (
    ANY,
    DATE,
    DATETIME,
    INTEGER,
    NUMERIC,
    TEMPORAL,
    TEXT,
    Ty,
    Typed,
)
from tidings.domain.expressions.nodes import Call
from tidings.domain.expressions.runtime import EvalContext, as_date, as_datetime, zone_of

_UNIT_LIST = ", ".join(f'"{unit}"' for unit in UNIT_ORDER)


def _temporal(value: Any) -> date | None:
    """A date or datetime from a value whose type only run time knows."""
    if isinstance(value, date):
        return value
    return as_datetime(value) or as_date(value)


def _now(call: Call, args: list[Typed]) -> Typed:
    def run(ctx: EvalContext) -> datetime:
        return utc_now(ctx)

    return Typed(run, DATETIME, call.pos, never_null=True)


def utc_now(ctx: EvalContext) -> datetime:
    """The context's instant in UTC (a naive one is taken as UTC, never as server time)."""
    now = ctx.now
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _today(call: Call, args: list[Typed]) -> Typed:
    def run(ctx: EvalContext) -> date:
        return utc_now(ctx).astimezone(zone_of(ctx)).date()

    return Typed(run, DATE, call.pos, never_null=True)


def _unit(call: Call, index: int, typed: Typed, value_ty: Ty) -> Typed:
    """Check a unit argument; a written unit is checked now, a computed one at run time."""
    typed = argument(call, index, typed, frozenset({TEXT}), "a unit such as " + '"days"')
    if typed.is_constant and isinstance(typed.constant, str):
        unit = unit_named(typed.constant)
        if unit is None:
            raise ExpressionError(f"unknown unit {typed.constant!r}: use {_UNIT_LIST}", typed.pos)
        if value_ty == DATE and unit in SUB_DAY:
            raise ExpressionError(
                f"a date has no time of day: use days, weeks, months or years, "
                f"or make it a datetime with datetime(x) to add {unit}",
                typed.pos,
            )
    return typed


def _date_add(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], TEMPORAL, "a date or a datetime")
    amount = argument(call, 1, args[1], frozenset(NUMERIC), "a number")
    unit = _unit(call, 2, args[2], value.ty)
    ty = value.ty if value.ty in TEMPORAL else ANY

    def shift(ctx: EvalContext, moment: Any, count: Any, name: Any) -> Any:
        unit_name = unit_named(name)
        moment = _temporal(moment)
        if unit_name is None or moment is None:
            return None
        return add(moment, count, unit_name, zone_of(ctx))

    return plain(call, [value, amount, unit], ty, shift, with_ctx=True)


def _date_diff(call: Call, args: list[Typed]) -> Typed:
    start = argument(call, 0, args[0], TEMPORAL, "a date or a datetime")
    end = argument(call, 1, args[1], TEMPORAL, "a date or a datetime")
    unit = _unit(call, 2, args[2], DATETIME)

    def between(ctx: EvalContext, a: Any, b: Any, name: Any) -> Any:
        unit_name = unit_named(name)
        a, b = _temporal(a), _temporal(b)
        if unit_name is None or a is None or b is None:
            return None
        return diff(a, b, unit_name, zone_of(ctx))

    return plain(call, [start, end, unit], INTEGER, between, with_ctx=True)


def parse_date(ctx: EvalContext, value: Any) -> date | None:
    """date(x): a `YYYY-MM-DD` text, the local date of a datetime or of an ISO instant."""
    if isinstance(value, str) and len(value) > 10:
        value = parse_datetime(ctx, value)
    if isinstance(value, datetime):
        return local_time(value.astimezone(UTC), zone_of(ctx)).date()
    return as_date(value)


def parse_datetime(ctx: EvalContext, value: Any) -> datetime | None:
    """datetime(x): an instant; a text without an offset is a wall time in the account zone."""
    if isinstance(value, datetime):
        return as_datetime(value)
    if isinstance(value, date):
        wall = wall_midnight(value)
    elif isinstance(value, str):
        try:
            wall = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if wall.tzinfo is not None:
            return wall.astimezone(UTC)
    else:
        return None
    return wall.replace(tzinfo=zone_of(ctx)).astimezone(UTC)


def _converter(name: str, result: Ty, impl: Callable[[EvalContext, Any], Any]) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        value = argument(call, 0, args[0], frozenset({TEXT, DATE, DATETIME}), "a text or a date")
        if value.ty == result:
            return value
        return plain(call, [value], result, impl, with_ctx=True)

    return Function(name, "text", 1, 1, build)


def _part(name: str, accepted: frozenset[Ty], pick: Callable[[datetime], int]) -> Function:
    def build(call: Call, args: list[Typed]) -> Typed:
        what = "a datetime" if accepted == {DATETIME} else "a date or a datetime"
        value = argument(call, 0, args[0], accepted, what)

        def part(ctx: EvalContext, moment: Any) -> int | None:
            moment = _temporal(moment)
            if isinstance(moment, datetime):
                return pick(local_time(moment, zone_of(ctx)))
            if isinstance(moment, date):
                return pick(wall_midnight(moment))
            return None

        return plain(call, [value], INTEGER, part, with_ctx=True)

    return Function(name, "date" if len(accepted) > 1 else "datetime", 1, 1, build)


# -- formatDate ----------------------------------------------------------------------------
# Pattern letters as in spreadsheets and Java's DateTimeFormatter (a useful subset), English
# names; text in single quotes is copied ('' is a quote); other non-letters are copied.

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FIELDS: dict[str, Callable[[datetime], str]] = {
    "yyyy": lambda t: f"{t.year:04d}",
    "yy": lambda t: f"{t.year % 100:02d}",
    "MMMM": lambda t: _MONTHS[t.month - 1],
    "MMM": lambda t: _MONTHS[t.month - 1][:3],
    "MM": lambda t: f"{t.month:02d}",
    "M": lambda t: str(t.month),
    "dd": lambda t: f"{t.day:02d}",
    "d": lambda t: str(t.day),
    "EEEE": lambda t: _DAYS[t.weekday()],
    "EEE": lambda t: _DAYS[t.weekday()][:3],
    "HH": lambda t: f"{t.hour:02d}",
    "H": lambda t: str(t.hour),
    "hh": lambda t: f"{(t.hour - 1) % 12 + 1:02d}",
    "h": lambda t: str((t.hour - 1) % 12 + 1),
    "mm": lambda t: f"{t.minute:02d}",
    "ss": lambda t: f"{t.second:02d}",
    "a": lambda t: "AM" if t.hour < 12 else "PM",
}
_TIME_LETTERS: Final = frozenset("Hhmsa")
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+|'")
_QUOTE: Final = "'"
MAX_PATTERN: Final = 200
Piece = str | Callable[[datetime], str]


class PatternError(ValueError):
    pass


@lru_cache(maxsize=256)
def date_pattern(pattern: str) -> tuple[tuple[Piece, ...], bool]:
    """The pieces of a formatDate pattern and whether it shows a time of day;
    PatternError saying what is wrong."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"a date pattern may be at most {MAX_PATTERN} characters")
    pieces: list[Piece] = []
    timed = False
    for match in _TOKEN.finditer(pattern):
        piece = match.group(0)
        if piece == _QUOTE:
            raise PatternError("a quote in a date pattern is not closed: write '' for a quote")
        if piece.startswith(_QUOTE):
            pieces.append(piece[1:-1].replace("''", _QUOTE) or _QUOTE)
        elif match.group(1) is not None:
            field = _FIELDS.get(piece)
            if field is None:
                raise PatternError(
                    f"unknown date pattern {piece!r}: use yyyy, yy, MMMM, MMM, MM, M, dd, d, "
                    "EEEE, EEE, HH, H, hh, h, mm, ss, a; quote text as 'at'"
                )
            timed = timed or piece[0] in _TIME_LETTERS
            pieces.append(field)
        else:
            pieces.append(piece)
    return tuple(pieces), timed


def _format_date(call: Call, args: list[Typed]) -> Typed:
    value = argument(call, 0, args[0], TEMPORAL, "a date or a datetime")
    pattern = argument(call, 1, args[1], frozenset({TEXT}), 'a pattern such as "dd.MM.yyyy"')
    if pattern.is_constant and isinstance(pattern.constant, str):
        try:
            _, timed = date_pattern(pattern.constant)
        except PatternError as exc:
            raise ExpressionError(str(exc), pattern.pos) from None
        if timed and value.ty == DATE:
            raise ExpressionError(
                "a date has no time of day: drop HH, mm, ss and a from the pattern, "
                "or make it a datetime with datetime(x)",
                pattern.pos,
            )

    def formatted(ctx: EvalContext, moment: Any, text: Any) -> str | None:
        moment = _temporal(moment)
        if not isinstance(text, str) or moment is None:
            return None
        try:
            pieces, _ = date_pattern(text)
        except PatternError:
            return None
        if isinstance(moment, datetime):
            wall = local_time(moment, zone_of(ctx))
        else:
            wall = wall_midnight(moment)
        return "".join(piece if isinstance(piece, str) else piece(wall) for piece in pieces)

    return plain(call, [value, pattern], TEXT, formatted, with_ctx=True)


FUNCTIONS = [
    Function("now", "", 0, 0, _now),
    Function("today", "", 0, 0, _today),
    Function("dateAdd", "date, amount, unit", 3, 3, _date_add),
    Function("dateDiff", "start, end, unit", 3, 3, _date_diff),
    _converter("date", DATE, parse_date),
    _converter("datetime", DATETIME, parse_datetime),
    _part("year", TEMPORAL, lambda wall: wall.year),
    _part("month", TEMPORAL, lambda wall: wall.month),
    _part("day", TEMPORAL, lambda wall: wall.day),
    _part("weekday", TEMPORAL, lambda wall: wall.isoweekday()),
    _part("hour", frozenset({DATETIME}), lambda wall: wall.hour),
    _part("minute", frozenset({DATETIME}), lambda wall: wall.minute),
    _part("second", frozenset({DATETIME}), lambda wall: wall.second),
    Function("formatDate", "date, pattern", 2, 2, _format_date),
]
