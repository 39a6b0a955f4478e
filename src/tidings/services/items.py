"""Answers of one-by-one batches (events, people, catalog rows): each item is accepted
or refused on its own, and a refusal carries the error envelope of an `InvalidInput`."""

from __future__ import annotations

from typing import Any

from tidings.domain.errors import InvalidInput, Problem


def refused(problems: list[Problem]) -> dict[str, Any]:
    """The answer of an item refused for `problems` (the body a lone item's 422 has)."""
    error = InvalidInput(problems)
    return {
        "status": "refused",
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }
