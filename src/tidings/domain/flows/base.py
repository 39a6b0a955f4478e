"""The building blocks every part of a flow document shares.

One strict base model (unknown fields refused, camelCase names on the wire, `ui` allowed
everywhere for the canvas), the shapes of ids and `next`, and the document's bounds.
Fields that a marketer fills in while drawing are optional here: a draft may be
incomplete, and `validate` names what is missing before launch. Only the shape (types,
sizes, ids) is refused on parse.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic.alias_generators import to_camel

MAX_ELEMENTS = 500  # drawn elements; the automatic exits come on top
MAX_BRANCHES = 20
MAX_ID = 64
MAX_NAME = 255
MAX_EXPRESSION = 4096
MAX_TEMPLATE = 262_144  # an HTML email can be large; the rendered output has its own limit
MAX_MAP = 100  # entries in `set`, `assign`, `headers`, `variables`
MAX_LIST = 1000  # ids in an audience source, tags in update_profile
MAX_UI_DEPTH = 6
# Whole list bound: every drawn element plus one automatic exit per outcome.
MAX_ALL_ELEMENTS = MAX_ELEMENTS * (MAX_BRANCHES + 2)

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
ID_RE = re.compile(ID_PATTERN)
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
HHMM_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")

ElementId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID,
        pattern=ID_PATTERN,
        description="An element id: a letter, then letters, digits, _ or -; at most 64.",
    ),
]
Target = Annotated[
    str, Field(max_length=MAX_ID, description="The id of the element that comes next.")
]
Expression = Annotated[
    str,
    Field(
        max_length=MAX_EXPRESSION,
        description="An expression: flow variables bare, person.x, event.x, functions.",
    ),
]
Template = Annotated[
    str,
    Field(max_length=MAX_TEMPLATE, description="A Liquid template, e.g. {{ person.firstName }}."),
]
Duration = Annotated[
    str, Field(max_length=64, description="An ISO 8601 duration such as PT2H or P1D.")
]
VariableName = Annotated[str, Field(max_length=64, description="The name of a flow variable.")]
Next = Target | dict[str, Target] | None
Ui = dict[str, JsonValue] | None

NEXT_DESCRIPTION = (
    "Where the person goes next: one element id, or a map from outcome to element id. "
    "A missing next or outcome means exit; exits are added automatically."
)
UI_DESCRIPTION = (
    "What the canvas stores for itself (position {x, y} and such); ignored by the engine."
)


class Model(BaseModel):
    """Strict, camelCase on the wire; the canvas may keep its own `ui` object anywhere."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        frozen=True,
    )

    ui: Ui = Field(default=None, description=UI_DESCRIPTION)

    @field_validator("ui")
    @classmethod
    def _bounded_ui(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        if value is not None:
            _check_ui(value, 0)
        return value


def _check_ui(value: Any, depth: int) -> None:
    if depth > MAX_UI_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_UI_DEPTH} levels")
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) < 2**63):
        raise ValueError("numbers must be finite and within ±9.2e18")
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise ValueError("whole numbers must fit in 64 bits")
    if isinstance(value, dict):
        for item in value.values():
            _check_ui(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_ui(item, depth + 1)


class ElementBase(Model):
    """What every element has: an id, a type, an optional name and where to go next."""

    # Outcomes are the keys a `next` map may use; empty means one way on (a plain id).
    OUTCOMES: ClassVar[tuple[str, ...]] = ()
    # Waits for time or an outside answer, so a loop through it cannot spin.
    WAITS: ClassVar[bool] = False

    id: ElementId
    name: str | None = Field(
        default=None, max_length=MAX_NAME, description="A name to find the element by."
    )
    next: Next = Field(default=None, description=NEXT_DESCRIPTION)

    def outcomes(self) -> tuple[str, ...]:
        """The outcome keys this element may lead on by; () for a single way on."""
        return self.OUTCOMES

    def targets(self) -> list[str]:
        """The element ids `next` names, in a stable order."""
        if self.next is None:
            return []
        if isinstance(self.next, str):
            return [self.next]
        return list(self.next.values())


class Branch(Model):
    """A named branch: the outcome key it adds to `next`."""

    name: str = Field(
        min_length=1, max_length=MAX_ID, description="The branch name; a key of `next`."
    )
