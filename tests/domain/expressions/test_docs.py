"""The examples in docs/expressions.md compile, and its error examples say what they show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tidings.domain.expressions import Scope, ValueType, compile_expression

from .helpers import error

DOC = Path(__file__).parents[3] / "docs" / "expressions.md"
V = ValueType
SCOPE = Scope(
    variables={"orderId": V.text, "cartValue": V.decimal, "x": V.integer},
    person={
        "externalId": V.text,
        "loyaltyPoints": V.integer,
        "country": V.text,
        "firstName": V.text,
    },
    event={"cartValue": V.decimal, "orderedAt": V.datetime},
    elements=frozenset({"sms1"}),
)


def _blocks() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    return [block.strip().splitlines() for block in re.findall(r"```\n(.*?)```", text, re.S)]


@pytest.mark.parametrize("source", _blocks()[0])
def test_opening_examples_compile(source: str) -> None:
    compile_expression(source, SCOPE)


@pytest.mark.parametrize("line", _blocks()[1])
def test_error_examples(line: str) -> None:
    source, shown = re.split(r"\s{2,}", line, maxsplit=1)
    problem = error(source, SCOPE)
    message, column = re.fullmatch(r"(.*) \(at column (\d+)\)", shown).groups()  # type: ignore[union-attr]
    assert problem.position + 1 == int(column)
    if "…" in message:
        assert problem.message.startswith(message.split("…")[0])
    else:
        assert problem.message == message


def test_the_variable_defaults_example_works() -> None:
    import json
    from datetime import UTC, datetime

    from tidings.domain.journey import Entered, Person, Phase, State, advance, compile_program

    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Variable defaults", 1)[1].split("\n## ", 1)[0]
    block = "\n".join(line[4:] for line in section.splitlines() if line.startswith("    "))
    variables = json.loads("{" + block + "}")["variables"]
    doc = {"name": "d", "entry": {"type": "api"}, "variables": variables, "elements": []}
    program = compile_program(doc, flow_id=1, version=1, account_timezone="Europe/Zagreb")
    assert program.problems == ()
    now = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # already 6 January in Zagreb
    person = Person(id=1, external_id="p", attributes={"firstName": "Ana", "loyaltyPoints": 120})
    state = State(1, 1, 1, person, Phase.running, None, {}, None, now)
    step = advance(program, state, Entered({}), now)
    assert dict(step.state.variables) == {
        "points": 120,
        "tier": "gold",
        "expires": "2026-02-05",
        "greeting": "Hi Ana",
    }
