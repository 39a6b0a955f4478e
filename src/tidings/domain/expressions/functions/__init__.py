"""Every function expressions may call, by its case-sensitive camelCase name."""

from __future__ import annotations

from tidings.domain.expressions.functions import dates, general, numbers, text
from tidings.domain.expressions.functions.base import Function

FUNCTIONS: dict[str, Function] = {
    function.name: function
    for module in (general, text, numbers, dates)
    for function in module.FUNCTIONS
}
MESSAGE_EVENTS = general.MESSAGE_EVENTS

__all__ = ["FUNCTIONS", "MESSAGE_EVENTS", "Function"]
