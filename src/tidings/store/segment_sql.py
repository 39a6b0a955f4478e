"""A checked segment rule compiled to one SQL condition over `people`.

The database does all the work, so an audience of millions costs one query and no Python
per person. Standard attributes are columns; custom attributes and event properties are
read from their JSON documents through the typed helpers of `dialect.py` (a value of the
wrong JSON type counts as absent, on both databases). Tags and companies are EXISTS over
their link tables. Event history is EXISTS, NOT EXISTS, or a count over the person's
matching events (served by the `(account_id, person_id, time)` index) that stops after
one more event than the number it is compared with.

Every leaf compiles to a condition that is never NULL, so `NOT` is an exact complement.
"""

from __future__ import annotations

from typing import Any, assert_never

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from tidings.domain.people import STANDARD_ATTRIBUTES
from tidings.domain.segments import (
    All,
    AnyOf,
    AttributeIs,
    Comparison,
    Count,
    DidEvent,
    HasTag,
    InCompany,
    Not,
    Op,
    PropertyIs,
    Rule,
)
from tidings.domain.values import ValueType
from tidings.store import dialect as sql
from tidings.store.tables import companies, events, people, person_companies, person_tags, tags

STANDARD_COLUMNS: dict[str, ColumnElement[Any]] = {
    "externalId": people.c.external_id,
    **{name: people.c[column] for name, column in STANDARD_ATTRIBUTES.items()},
}


def condition(dialect: sql.Dialect, account_id: int, rule: Rule, now: int) -> ColumnElement[bool]:
    """The rule as a condition on `people` rows of `account_id`, at instant `now` (micros)."""
    return _Compiler(dialect, account_id, now).rule(rule)


def audience(dialect: sql.Dialect, account_id: int, rule: Rule, now: int) -> Select[Any]:
    """`SELECT people.id ...` of the account's people the rule holds for, in id order: the
    members as one set-based query (to page, count, or `INSERT ... SELECT` from)."""
    return (
        select(people.c.id)
        .where(people.c.account_id == account_id, condition(dialect, account_id, rule, now))
        .order_by(people.c.id)
    )


class _Compiler:
    def __init__(self, dialect: sql.Dialect, account_id: int, now: int) -> None:
        self.dialect = dialect
        self.account_id = account_id
        self.now = now

    def rule(self, rule: Rule) -> ColumnElement[bool]:
        match rule:
            case All(conditions):
                return and_(true(), *[self.rule(c) for c in conditions])
            case AnyOf(conditions):
                return or_(false(), *[self.rule(c) for c in conditions])
            case Not(inner):
                return not_(self.rule(inner))
            case AttributeIs(name, standard, test):
                if standard:
                    return self.compare(STANDARD_COLUMNS[name], test)
                return self.document(people.c.attributes, name, test)
            case HasTag(name):
                return self.linked(person_tags, person_tags.c.tag_id, tags, name)
            case InCompany(name):
                return self.linked(person_companies, person_companies.c.company_id, companies, name)
            case DidEvent():
                return self.did(rule)
            case _:
                assert_never(rule)

    def linked(self, link: Any, target_id: Any, target: Any, name: str) -> ColumnElement[bool]:
        return exists(
            select(link.c.person_id)
            .select_from(link.join(target, target.c.id == target_id))
            .where(
                link.c.account_id == self.account_id,
                link.c.person_id == people.c.id,
                target.c.account_id == self.account_id,
                target.c.name == name,
            )
        )

    def did(self, rule: DidEvent) -> ColumnElement[bool]:
        found = select(events.c.id).where(
            events.c.account_id == self.account_id,
            events.c.person_id == people.c.id,
            events.c.name == rule.event,
            *[self.property(p) for p in rule.where],
        )
        if rule.within_micros is not None:
            found = found.where(events.c.time >= self.now - rule.within_micros)
        count = rule.count
        always = _always(count)
        if always is not None:
            return true() if always else false()
        if count in (Count(Op.gte, 1), Count(Op.gt, 0)):
            return exists(found)
        if count in (Count(Op.eq, 0), Count(Op.lt, 1), Count(Op.lte, 0)):
            return not_(exists(found))
        # Only whether the count is below, at or above `value` matters: stop counting at
        # `value + 1` events, so a very active person costs no more than anyone else.
        capped = found.limit(count.value + 1).correlate(people).subquery()
        number = select(func.count()).select_from(capped).scalar_subquery()
        return _ordered(number, count.op, count.value)

    def property(self, condition: PropertyIs) -> ColumnElement[bool]:
        return self.document(events.c.properties, condition.property, condition.test)

    def document(self, column: Any, key: str, test: Comparison) -> ColumnElement[bool]:
        """`test` on the value under `key` of a JSON document column."""
        d = self.dialect
        match test.kind:
            case ValueType.list:
                present = sql.json_array_present(d, column, key)
                if test.op is Op.exists:
                    return present
                if test.op is Op.not_exists:
                    return not_(present)
                return and_(present, sql.json_array_contains(d, column, key, test.value))
            case ValueType.integer | ValueType.decimal:
                return self.compare(sql.json_number(d, column, key), test)
            case ValueType.boolean:
                return self.compare(sql.json_boolean(d, column, key), test)
            case ValueType.text | ValueType.date | ValueType.datetime:
                return self.compare(sql.json_string(d, column, key), test)
            case _:
                assert_never(test.kind)

    def compare(self, value: ColumnElement[Any], test: Comparison) -> ColumnElement[bool]:
        """`test` on a value that may be NULL (absent), as a condition that never is."""
        if test.op is Op.exists:
            return value.is_not(None)
        if test.op is Op.not_exists:
            return value.is_(None)
        if test.kind is ValueType.datetime:
            value = _sortable(value)
        wanted = _sql_value(test)
        if test.op is Op.ne:
            return func.coalesce(value != wanted, true())
        held: ColumnElement[bool]
        match test.op:
            case Op.in_:
                held = value.in_(wanted)
            case Op.contains:
                held = sql.text_contains(self.dialect, value, wanted)
            case Op.starts_with:
                held = func.substr(value, 1, len(wanted)) == wanted
            case _:
                held = _ordered(value, test.op, wanted)
        return func.coalesce(held, false())


def _always(count: Count) -> bool | None:
    """True or False when the count test holds or fails whatever the count is."""
    if count.op is Op.gte and count.value == 0:
        return True
    if count.op is Op.lt and count.value == 0:
        return False
    return None


def _ordered(value: Any, op: Op, wanted: Any) -> ColumnElement[bool]:
    match op:
        case Op.eq:
            return value == wanted  # type: ignore[no-any-return]
        case Op.ne:
            return value != wanted  # type: ignore[no-any-return]
        case Op.gt:
            return value > wanted  # type: ignore[no-any-return]
        case Op.gte:
            return value >= wanted  # type: ignore[no-any-return]
        case Op.lt:
            return value < wanted  # type: ignore[no-any-return]
        case Op.lte:
            return value <= wanted  # type: ignore[no-any-return]
    raise AssertionError(f"{op} is not an order test")


def _sql_value(test: Comparison) -> Any:
    def one(value: Any) -> Any:
        if test.kind is ValueType.boolean:
            return "true" if value else "false"
        if test.kind is ValueType.datetime:
            return sortable_instant(value)
        return value

    if isinstance(test.value, tuple):
        return [one(v) for v in test.value]
    return one(test.value)


def sortable_instant(text: str) -> str:
    """A canonical instant (`...:00Z` or `...:00.250Z`) with milliseconds always written,
    so that instants order as texts: `09:00:00Z` would sort after `09:00:00.500Z`."""
    return text[:19] + ".000Z" if len(text) == 20 else text


def _sortable(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`sortable_instant` in SQL."""
    return case(
        (func.length(value) == 20, func.substr(value, 1, 19).concat(literal(".000Z"))),
        else_=value,
    )
