"""The flow expression language: conditions, defaults and assignments.

    compile_expression('event.cartValue > 50 and person.country == "HR"', scope,
                       expect=ValueType.boolean).evaluate(ctx)  # -> True or False

Source is parsed by a hand-written Pratt parser, type-checked against a `Scope` (the
flow's variables, the People schema, the event's properties) and compiled once into
nested Python closures; nothing is ever handed to Python's eval or exec, and names are
only ever keys of the context's mappings. The language is described, with every
function, in docs/expressions.md; why it is built this way, with measurements, in
docs/decisions/2026-11-25-expression-language.md.
"""

from tidings.domain.expressions.errors import ExpressionError
from tidings.domain.expressions.expression import Expression, compile_expression
from tidings.domain.expressions.functions import FUNCTIONS
from tidings.domain.expressions.literals import literal
from tidings.domain.expressions.runtime import EvalContext
from tidings.domain.expressions.scope import Scope
from tidings.domain.values import ValueType

FUNCTION_NAMES = frozenset(FUNCTIONS)

__all__ = [
    "FUNCTION_NAMES",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "Scope",
    "ValueType",
    "compile_expression",
    "literal",
]
