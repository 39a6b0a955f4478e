"""The one error the expression language raises, and the limits that keep it bounded."""

from __future__ import annotations

MAX_SOURCE = 10_000  # characters in one expression
MAX_DEPTH = 100  # nesting of operators, calls and lists
MAX_NUMBER_DIGITS = 30  # digits in one number literal


class ExpressionError(ValueError):
    """An expression that cannot be compiled: what is wrong, and where.

    `position` is the 0-based character offset in the source of the offending token, so
    an editor can underline it; `str()` shows it as a 1-based column.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at column {self.position + 1})"

    def __repr__(self) -> str:
        return f"ExpressionError({self.message!r}, {self.position})"

    def __reduce__(self) -> tuple[type[ExpressionError], tuple[str, int]]:
        return (type(self), (self.message, self.position))
