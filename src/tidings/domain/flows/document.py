"""The flow document: one JSON format for the canvas, the API, the CLI and the engine.

`parse_document` turns JSON data into a `FlowDocument` or raises `InvalidInput` whose
problems name the element (by id) and the field, so the canvas can point at them.
`flow_json_schema` is the JSON Schema the API publishes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, get_args

from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from tidings.domain.errors import InvalidInput, Problem
from tidings.domain.flows.actions import (
    AddToFlow,
    CallApi,
    CatalogLookup,
    Notify,
    UpdateProfile,
    UpdateVariable,
)
from tidings.domain.flows.base import MAX_ALL_ELEMENTS, MAX_ELEMENTS, MAX_NAME, Model
from tidings.domain.flows.branches import EvaluateInbound, Exit, Segment, Split
from tidings.domain.flows.calls import Failover, VoiceCall
from tidings.domain.flows.entry import Entry
from tidings.domain.flows.messages import SendEmail, SendSms, SendViber, SendWhatsapp
from tidings.domain.flows.settings import MAX_VARIABLES, Settings, Variable
from tidings.domain.flows.waits import Wait, WaitForEvent
from tidings.domain.values import check_text

ElementType = (
    SendSms
    | SendEmail
    | SendWhatsapp
    | SendViber
    | VoiceCall
    | Failover
    | Wait
    | WaitForEvent
    | Segment
    | Split
    | UpdateProfile
    | UpdateVariable
    | CallApi
    | AddToFlow
    | Notify
    | CatalogLookup
    | EvaluateInbound
    | Exit
)
Element = Annotated[ElementType, Field(discriminator="type")]
# The type names in the union's order, read from each model's `type` Literal.
ELEMENT_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in get_args(ElementType)
)


class FlowDocument(Model):
    """One version of a flow: how people enter, the settings, variables and elements."""

    name: str | None = Field(default=None, max_length=MAX_NAME, description="The flow's name.")
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="The flow's IANA time zone; absent means the account's.",
    )
    entry: Entry | None = Field(
        default=None, description="How people enter the flow; the first thing to choose."
    )
    settings: Settings = Field(
        default_factory=Settings,
        description="Re-entry, schedule, send window and goal.",
    )
    variables: list[Variable] = Field(
        default_factory=list, max_length=MAX_VARIABLES, description="Flow variables."
    )
    elements: list[Element] = Field(
        default_factory=list,
        max_length=MAX_ALL_ELEMENTS,
        description=(
            "The elements. The entry leads to the first one unless it names its own next. "
            f"At most {MAX_ELEMENTS}, not counting exits."
        ),
    )

    @model_validator(mode="after")
    def _ids_unique_and_bounded(self) -> FlowDocument:
        counts = Counter(element.id for element in self.elements)
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        if duplicates:
            raise PydanticCustomError(
                "duplicate_id",
                "element ids must be unique: {ids}",
                {"ids": ", ".join(duplicates)},
            )
        drawn = sum(1 for element in self.elements if element.type != "exit")
        if drawn > MAX_ELEMENTS:
            raise PydanticCustomError(
                "too_many_elements",
                "a flow holds at most {max} elements (not counting exits)",
                {"max": MAX_ELEMENTS},
            )
        return self

    def element(self, element_id: str) -> ElementType | None:
        for element in self.elements:
            if element.id == element_id:
                return element
        return None

    def first_id(self) -> str | None:
        """The id of the element the entry leads to."""
        if self.entry is not None and self.entry.next is not None:
            return self.entry.next
        return self.elements[0].id if self.elements else None


def parse_document(data: Any) -> FlowDocument:
    """The document in `data` (decoded JSON), or InvalidInput naming every shape error."""
    if not isinstance(data, dict):
        raise InvalidInput([Problem("", "a flow document must be a JSON object")])
    bad = _unstorable_text(data, "")
    if bad is not None:
        raise InvalidInput([Problem(bad[0], bad[1])])
    try:
        return FlowDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(problems_from(exc, data)) from None


def _unstorable_text(value: Any, path: str) -> tuple[str, str] | None:
    """The first text (key or value) no database can store: NUL characters, which
    PostgreSQL refuses, or unpaired surrogates, which are not UTF-8 at all."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        texts: list[str] = []
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = [k for k in item if isinstance(k, str)]
            stack.extend((v, f"{where}.{k}".lstrip(".")) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}.{i}".lstrip(".")) for i, v in enumerate(item))
        for text in texts:
            try:
                check_text(text)
            except ValueError as exc:
                return where or "document", str(exc)
    return None


def flow_json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow document, with every field described."""
    schema = FlowDocument.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Tidings flow document"
    return schema


def problems_from(exc: ValidationError, data: Any) -> list[Problem]:
    """Pydantic's errors as problems: element ids instead of list positions, plain words."""
    problems: list[Problem] = []
    seen: set[tuple[str | None, str, str]] = set()
    for error in exc.errors(include_url=False):
        problem = _problem(error, data)
        key = (problem.element, problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            problems.extend(_expand(problem, error))
    return problems


def _expand(problem: Problem, error: ErrorDetails) -> list[Problem]:
    if error["type"] == "duplicate_id":
        ids = str((error.get("ctx") or {}).get("ids", "")).split(", ")
        return [Problem("id", "another element already has this id", i) for i in ids]
    return [problem]


def _problem(error: ErrorDetails, data: Any) -> Problem:
    loc = _strip_tags(list(error["loc"]), data)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("type")
    element: str | None = None
    if len(loc) >= 2 and loc[0] == "elements" and isinstance(loc[1], int):
        raw = _at(data, loc[:2])
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str) and raw_id and _unique_id(data, raw_id):
            element = raw_id
            loc = loc[2:]
    field = ".".join(str(part) for part in loc)
    return Problem(field, _message(error, field), element)


def _strip_tags(loc: list[int | str], data: Any) -> list[int | str]:
    """Drop the union tags (entry, element and attempt types) pydantic adds to paths."""
    out: list[int | str] = []
    skipped = False
    for part in loc:
        if not skipped and _is_union(out):
            value = _at(data, out)
            if isinstance(value, dict) and value.get("type") == part:
                skipped = True
                continue
        skipped = False
        out.append(part)
    return out


def _is_union(path: list[int | str]) -> bool:
    if path == ["entry"]:
        return True
    return len(path) >= 2 and isinstance(path[-1], int) and path[-2] in ("elements", "attempts")


def _at(data: Any, path: Sequence[int | str]) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _unique_id(data: Any, element_id: str) -> bool:
    elements = _at(data, ["elements"])
    if not isinstance(elements, list):
        return False
    return sum(1 for e in elements if isinstance(e, dict) and e.get("id") == element_id) == 1


def _message(error: ErrorDetails, field: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    last = field.rsplit(".", 1)[-1]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"{last!r} is not a field here"
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        return f"{ctx.get('tag')!r} is not a known type; use one of {expected}"
    if kind == "union_tag_not_found":
        return "needs a type"
    if kind == "string_pattern_mismatch" and last == "id":
        return "must start with a letter and hold only letters, digits, _ and -"
    if kind == "string_pattern_mismatch":
        return "must start with a letter or _ and hold only letters, digits and _"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_long":
        return f"must hold at most {ctx.get('max_length')} items"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("string_type", "str_type"):
        return "must be a text"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object"
    if kind == "list_type":
        return "must be a list"
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}"
    return str(error["msg"])
