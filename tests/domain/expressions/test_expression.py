"""The public interface: expected types, results in canonical form, reuse across threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import pytest

from tidings.domain.expressions import (
    FUNCTION_NAMES,
    EvalContext,
    Expression,
    ExpressionError,
    Scope,
    compile_expression,
    literal,
)

from .helpers import NOW, SCOPE, V, context, error, ev


def test_a_typical_condition() -> None:
    condition = compile_expression(
        'event.cartValue > 50 and person.country == "HR"', SCOPE, expect=V.boolean
    )
    assert isinstance(condition, Expression)
    assert condition.source == 'event.cartValue > 50 and person.country == "HR"'
    assert condition.type == V.boolean
    assert condition.evaluate(context()) is True
    assert condition.evaluate(context(event={"cartValue": 20})) is False
    assert condition.evaluate(context(event=None)) is False
    assert "Expression(" in repr(condition)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("cartValue", "must be true or false, but this gives decimal"),
        ('"yes"', "must be true or false, but this gives text"),
        ("items", "must be true or false, but this gives list"),
    ],
)
def test_conditions_must_be_true_or_false(source: str, words: str) -> None:
    problem = error(source, expect=V.boolean)
    assert problem.message.startswith(words)
    assert problem.position == 0


def test_expected_error_points_at_the_start_of_the_expression() -> None:
    assert error("  count + 1", expect=V.boolean).position == 2


def test_conditions_give_exactly_true_or_false() -> None:
    assert ev("person.optedOut", expect=V.boolean, person={}) is False
    assert ev("null", expect=V.boolean) is False
    assert ev("flag", expect=V.boolean, variables={"flag": "yes"}) is False
    assert ev("1 / 0 > 1", expect=V.boolean) is False


@pytest.mark.parametrize(
    ("source", "expect", "words"),
    [
        ("cartValue * 2", V.integer, "must be integer, but this gives decimal; use round(x)"),
        ("count", V.text, "must be text, but this gives integer; use toText(x)"),
        ("label", V.decimal, "use toNumber(x)"),
        ("now()", V.date, "use date(x)"),
        ("today()", V.datetime, "use datetime(x)"),
        ("label", V.list, "make a list"),
        ("flag", V.decimal, "must be decimal, but this gives true/false"),
    ],
)
def test_assignments_must_fit_the_variable(source: str, expect: V, words: str) -> None:
    assert words in error(source, expect=expect).message


@pytest.mark.parametrize(
    ("source", "expect", "value"),
    [
        ("count", V.decimal, 3),
        ("null", V.text, None),
        ("today()", V.date, "2026-01-05"),
        ("[1, count]", V.list, [1, 3]),
    ],
)
def test_assignments_that_fit(source: str, expect: V, value: Any) -> None:
    expression = compile_expression(source, SCOPE, expect=expect)
    assert expression.type == expect
    assert expression.evaluate(context()) == value


def test_results_are_canonical() -> None:
    assert ev("[today(), now(), due]") == ["2026-01-05", "2026-01-05T10:30:00Z", "2026-01-31"]
    assert ev("if(flag, now(), sentAt)") == "2026-01-05T10:30:00Z"
    assert ev("coalesce(due, today())") == "2026-01-31"


def test_constant_lists_cannot_be_changed_by_callers() -> None:
    expression = compile_expression("[1, 2]", SCOPE)
    first = expression.evaluate(context())
    first.append(3)
    assert expression.evaluate(context()) == [1, 2]


def test_evaluation_never_raises_on_bad_data() -> None:
    strange: dict[str, Any] = {
        "cartValue": "12",
        "count": [1],
        "label": {"a": 1},
        "flag": "true",
        "due": "yesterday",
        "sentAt": 17,
        "items": "a,b",
    }
    sources = [
        "cartValue * 2",
        "count + 1",
        "label + 'x'",
        "not flag",
        "dateAdd(due, 1, 'days')",
        "hour(sentAt)",
        "length(items)",
        "join(items)",
        "sum(items)",
        "due < today()",
        "sentAt > now()",
        "'a' in items",
        "round(cartValue, count)",
        "lower(label)",
    ]
    ctx = context(variables=strange)
    for source in sources:
        compile_expression(source, SCOPE).evaluate(ctx)  # returns, whatever it returns


def test_message_events_errors_are_not_data_errors() -> None:
    def broken(element: str, kind: str) -> bool:
        raise RuntimeError("the engine's bug must surface")

    with pytest.raises(RuntimeError):
        ev('clicked("sms1")', message_events=broken)


def test_compiled_expressions_are_shared_across_threads() -> None:
    expression = compile_expression("count * 2 + length(label)", SCOPE)

    def run(n: int) -> Any:
        ctx = EvalContext({"count": n, "label": "x" * n}, {}, None, NOW)
        return [expression.evaluate(ctx) for _ in range(200)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(40)))
    assert results == [[n * 3] * 200 for n in range(40)]


def test_source_must_be_text() -> None:
    with pytest.raises(ExpressionError):
        compile_expression(5, Scope())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (None, "null"),
        (True, "true"),
        (-3, "-3"),
        (2.5, "2.5"),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("\x00\x7f", '"\\u0000\\u007f"'),
        (date(2026, 1, 31), 'date("2026-01-31")'),
        (datetime.fromisoformat("2026-01-31T10:00:00+01:00"), 'datetime("2026-01-31T09:00:00Z")'),
        ([1, ["a"]], '[1, ["a"]]'),
    ],
)
def test_literal(value: Any, source: str) -> None:
    assert literal(value) == source


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": 1}, object()])
def test_values_without_a_literal(value: Any) -> None:
    with pytest.raises(ValueError):
        literal(value)


def test_function_names_are_public() -> None:
    required = {
        "now",
        "today",
        "dateAdd",
        "dateDiff",
        "date",
        "datetime",
        "year",
        "month",
        "day",
        "hour",
        "weekday",
        "concat",
        "lower",
        "upper",
        "trim",
        "length",
        "substring",
        "replace",
        "startsWith",
        "endsWith",
        "contains",
        "split",
        "join",
        "round",
        "floor",
        "ceil",
        "abs",
        "min",
        "max",
        "sum",
        "toNumber",
        "toText",
        "coalesce",
        "if",
        "isEmpty",
        "clicked",
        "delivered",
        "seen",
        "failed",
    }
    assert required <= FUNCTION_NAMES
