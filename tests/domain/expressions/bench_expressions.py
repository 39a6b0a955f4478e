"""Cost per evaluation of the expression language, against the routes we weighed.

    .venv/bin/python tests/domain/expressions/bench_expressions.py

Measures our closures, a tree-walking interpreter over the same syntax tree, and, when
they are installed (they are not dependencies), a lark LALR parser for the same grammar,
cel-python and cel-expr-python. Figures are in docs/decisions/2026-11-25-expression-language.md.
"""

from __future__ import annotations

import operator
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tidings.domain.expressions import EvalContext, Scope, ValueType, compile_expression
from tidings.domain.expressions.calendars import add
from tidings.domain.expressions.nodes import Binary, Call, Literal, Name, Node
from tidings.domain.expressions.parser import parse
from tidings.domain.expressions.runtime import externalize, zone_of

CONDITION = 'event.cartValue > 50 and person.country == "HR"'
FORMULA = 'dateAdd(now(), 2, "days")'
SCOPE = Scope(person={"country": ValueType.text}, event={"cartValue": ValueType.decimal})
CTX = EvalContext(
    variables={},
    person={"country": "HR"},
    event={"cartValue": 80},
    now=datetime(2026, 1, 5, 10, 30, tzinfo=UTC),
    timezone="Europe/Zagreb",
)


def per_call(fn: Callable[[], Any], number: int = 100_000) -> float:
    """Best of five runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def walk(node: Node, ctx: EvalContext) -> Any:
    """A tree-walking interpreter for the benchmark expressions (the route we did not take)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        source = ctx.event if node.path[0] == "event" else ctx.person
        return None if source is None else source.get(node.path[1])
    if isinstance(node, Binary):
        if node.op == "and":
            return walk(node.left, ctx) is True and walk(node.right, ctx) is True
        left, right = walk(node.left, ctx), walk(node.right, ctx)
        if node.op == "==":
            return left == right
        if left is None or right is None:
            return False
        return {">": operator.gt, "<": operator.lt}[node.op](left, right)
    if isinstance(node, Call) and node.name == "now":
        return ctx.now
    if isinstance(node, Call) and node.name == "dateAdd":
        moment, amount, unit = (walk(arg, ctx) for arg in node.args)
        return externalize(add(moment, amount, unit, zone_of(ctx)))
    raise NotImplementedError(node)


def ours() -> None:
    print("route: hand-written Pratt parser + closures (this package)")
    for source, expect in ((CONDITION, ValueType.boolean), (FORMULA, None)):
        expression = compile_expression(source, SCOPE, expect=expect)
        tree = parse(source)
        print(f"  {source}")
        print(f"    evaluate           {per_call(lambda e=expression: e.evaluate(CTX)):7.2f} µs")
        print(f"    tree walk          {per_call(lambda t=tree: walk(t, CTX)):7.2f} µs")
        print(f"    parse              {per_call(lambda s=source: parse(s), 5_000):7.2f} µs")
        compile_time = per_call(
            lambda s=source, x=expect: compile_expression(s, SCOPE, expect=x), 5_000
        )
        print(f"    parse+check+compile {compile_time:6.2f} µs")


LARK_GRAMMAR = r"""
?start: or_
?or_: and_ (("or" | "||") and_)*
?and_: not_ (("and" | "&&") not_)*
?not_: ("not" | "!") not_ -> not_op | cmp
?cmp: sum (CMP sum)?
?sum: product (SUM_OP product)*
?product: unary (PROD_OP unary)*
?unary: "-" unary -> neg | atom
?atom: NUMBER -> number | STRING -> string | "true" -> true | "false" -> false
     | "null" -> null | NAME ("." NAME)* -> name | NAME "(" [or_ ("," or_)*] ")" -> call
     | "[" [or_ ("," or_)*] "]" -> list_ | "(" or_ ")"
CMP: "==" | "!=" | "<=" | ">=" | "<" | ">" | "in"
SUM_OP: "+" | "-"
PROD_OP: "*" | "/" | "%"
STRING: /"([^"\\]|\\.)*"/ | /'([^'\\]|\\.)*'/
%import common.CNAME -> NAME
%import common.NUMBER
%import common.WS
%ignore WS
"""


def lark_route() -> None:
    try:
        import lark
    except ImportError:
        print("route: lark (not installed: pip install lark to measure)")
        return
    parser = lark.Lark(LARK_GRAMMAR, parser="lalr")
    print(f"route: lark {lark.__version__} LALR (parse to a lark tree only)")
    build = per_call(lambda: lark.Lark(LARK_GRAMMAR, parser="lalr"), 10) / 1000
    print(f"  building the parser  {build:7.2f} ms (once per process)")
    for source in (CONDITION, FORMULA):
        print(f"  {source}")
        print(f"    parse              {per_call(lambda s=source: parser.parse(s), 5_000):7.2f} µs")
    try:
        parser.parse("event.cartValue > ")
    except lark.exceptions.UnexpectedInput as problem:
        print(f"    error: {type(problem).__name__} at column {problem.column}")


def cel_python_route() -> None:
    try:
        import celpy
    except ImportError:
        print("route: cel-python (not installed)")
        return
    env = celpy.Environment()
    source = 'event.cartValue > 50 && person.country == "HR"'
    program = env.program(env.compile(source))
    activation = {
        "event": celpy.json_to_cel({"cartValue": 80}),
        "person": celpy.json_to_cel({"country": "HR"}),
    }
    print("route: cel-python (pure Python, lark inside)")
    print(f"  {source}")
    print(f"    evaluate           {per_call(lambda: program.evaluate(activation), 2_000):7.2f} µs")
    print(
        f"    compile            {per_call(lambda: env.program(env.compile(source)), 200):7.2f} µs"
    )
    stamp = env.program(env.compile('timestamp("2026-01-05T10:30:00Z") + duration("172800s")'))
    print("  timestamp + duration (its dateAdd)")
    print(f"    evaluate           {per_call(lambda: stamp.evaluate({}), 2_000):7.2f} µs")


def cel_cpp_route() -> None:
    try:
        from cel_expr_python import cel
    except ImportError:
        print("route: cel-expr-python (not installed)")
        return
    kind = cel.Type
    env = cel.NewEnv(
        variables={
            "event": kind.Map(kind.STRING, kind.DYN),
            "person": kind.Map(kind.STRING, kind.DYN),
        }
    )
    source = 'event.cartValue > 50 && person.country == "HR"'
    expression = env.compile(source)
    data = {"event": {"cartValue": 80}, "person": {"country": "HR"}}
    print("route: cel-expr-python (C++ cel-cpp binding)")
    print(f"  {source}")
    print(f"    evaluate           {per_call(lambda: expression.eval(data=data).value()):7.2f} µs")
    print(f"    compile            {per_call(lambda: env.compile(source), 2_000):7.2f} µs")


if __name__ == "__main__":
    ours()
    lark_route()
    cel_python_route()
    cel_cpp_route()
