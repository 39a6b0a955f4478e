"""One error tree for the whole system; `api/errors.py` maps it to HTTP in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a dotted field path) and what."""

    field: str
    message: str
    element: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.element is not None:
            out["element"] = self.element
        return out


class TidingsError(Exception):
    """Base of every error we raise on purpose. Anything else reaching the API is a bug."""

    code = "error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(TidingsError):
    """The input breaks a rule; `problems` names every field at fault."""

    code = "invalid_input"

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        self.problems = problems
        text = message or "; ".join(f"{p.field}: {p.message}" for p in problems)
        super().__init__(text, [p.as_dict() for p in problems])


class MalformedRequest(TidingsError):
    """The body is not a request at all (not JSON, not the right kind of document)."""

    code = "malformed_json"


class TooLarge(TidingsError):
    code = "too_large"


class NotFound(TidingsError):
    code = "not_found"


class Conflict(TidingsError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class Unauthorized(TidingsError):
    code = "unauthorized"


class Forbidden(TidingsError):
    code = "forbidden"


@dataclass
class ProblemList:
    """Collects problems while checking an input, so the caller gets all of them at once."""

    items: list[Problem] = field(default_factory=list)

    def add(self, field_path: str, message: str, element: str | None = None) -> None:
        self.items.append(Problem(field_path, message, element))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)
