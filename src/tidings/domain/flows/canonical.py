"""The one textual form of a flow document, and reading one from JSON or YAML.

`canonical_json` omits every value equal to its default and sorts keys, so a document
exported, imported and exported again is the same bytes, and two documents that mean the
same thing diff as equal.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import yaml

from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.flows.document import FlowDocument, parse_document

MAX_TEXT = 8 * 1024 * 1024
MAX_NODES = 1_000_000  # YAML aliases can make a small text a huge tree


def canonical_data(doc: FlowDocument) -> dict[str, Any]:
    """The document as JSON data, defaults left out."""
    return doc.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def canonical_json(doc: FlowDocument) -> str:
    """Sorted keys, two-space indent, a trailing newline; defaults left out."""
    text = json.dumps(
        canonical_data(doc), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return text + "\n"


def load_text(text: str, filename: str = "flow.json") -> FlowDocument:
    """Parse a flow document written as JSON or YAML (by the file's suffix; JSON first
    when the name says neither). Raises InvalidInput saying what is wrong and where."""
    if len(text) > MAX_TEXT:
        raise InvalidInput([Problem("", f"{filename} is larger than {MAX_TEXT} characters")])
    lower = filename.lower()
    if lower.endswith((".yaml", ".yml")):
        data = _yaml(text, filename)
    elif lower.endswith(".json"):
        data = _json(text, filename)
    else:
        try:
            data = _json(text, filename)
        except InvalidInput:
            data = _yaml(text, filename)
    return parse_document(data)


def _json(text: str, filename: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        message = f"{filename} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidInput([Problem("", message)]) from None
    except ValueError as exc:
        raise InvalidInput([Problem("", f"{filename}: {exc}")]) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _yaml(text: str, filename: str) -> Any:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be read"
        message = f"{filename} is not valid YAML: {problem}{where}"
        raise InvalidInput([Problem("", message)]) from None
    budget = [MAX_NODES]
    return _times_back(_plain(data, budget, filename))


def _times_back(data: Any) -> Any:
    """YAML 1.1 reads an unquoted 20:00 as the base-60 number 1200; the times of day in a
    flow document are texts, so turn such numbers back into "HH:MM"."""
    if not isinstance(data, dict):
        return data
    settings = data.get("settings")
    window = settings.get("sendWindow") if isinstance(settings, dict) else None
    if isinstance(window, dict):
        for key in ("from", "to"):
            if key in window:
                window[key] = _hhmm(window[key])
    for element in data.get("elements") or []:
        if isinstance(element, dict) and element.get("type") == "wait" and "at" in element:
            element["at"] = _hhmm(element["at"])
    return data


def _hhmm(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


def _plain(value: Any, budget: list[int], filename: str) -> Any:
    """YAML's dates and times back to the ISO texts the document expects; keys to text."""
    budget[0] -= 1
    if budget[0] < 0:
        raise InvalidInput([Problem("", f"{filename} expands to too large a document")])
    if isinstance(value, dict):
        return {_key(k): _plain(v, budget, filename) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item, budget, filename) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _key(key: Any) -> Any:
    if isinstance(key, datetime | date):
        return key.isoformat()
    return key
