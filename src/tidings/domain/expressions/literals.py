"""Printing values as expression source: the inverse of the lexer's literals.

`literal(value)` is what a canvas or the API uses to put a value a person typed into a
condition (`person.country == "HR"`) without building source by string concatenation.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from tidings.domain.durations import format_instant

# Escapes a quoted text may carry, and what each stands for.
ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t"}
_PRINTED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote_text(text: str) -> str:
    """`text` as a double-quoted literal; control characters become `\\uXXXX`."""
    out = ['"']
    for char in text:
        escaped = _PRINTED.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or 0xD800 <= ord(char) < 0xE000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def literal(value: Any) -> str:
    """Expression source that evaluates to `value`.

    Accepts None, booleans, integers, finite floats, texts, dates (as `date("…")`),
    datetimes (as `datetime("…Z")`) and lists of these; raises ValueError otherwise.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("only finite numbers have a literal")
        return repr(value)
    if isinstance(value, str):
        return quote_text(value)
    if isinstance(value, datetime):
        return f"datetime({quote_text(format_instant(value))})"
    if isinstance(value, date):
        return f"date({quote_text(value.isoformat())})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise ValueError(f"{type(value).__name__} values have no literal")
