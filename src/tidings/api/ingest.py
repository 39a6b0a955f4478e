"""`POST /events` items as the API reads them: the body's one-or-many shape and each
item's fields. The use case (checking against the definitions, storing many requests'
events at once) is `services/ingest.py`."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field, TypeAdapter, ValidationError, model_validator

from tidings.api.errors import validation_details
from tidings.api.schemas import MAX_ID, Strict
from tidings.domain.errors import InvalidInput, MalformedRequest, Problem
from tidings.services.ingest import Parsed, Ref

MAX_ITEMS = 1000


class PersonRef(Strict):
    externalId: str | None = Field(None, min_length=1, max_length=255)
    id: int | None = Field(None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        if (self.externalId is None) == (self.id is None):
            raise ValueError("give exactly one of externalId and id")
        return self


class EventIn(Strict):
    person: PersonRef
    name: str = Field(min_length=1, max_length=128, description="A defined event name")
    properties: dict[str, Any] = Field(default_factory=dict)
    time: str | None = Field(None, description="When it happened (ISO 8601); default: now")


event_adapter = TypeAdapter(EventIn)
_FIELDS = frozenset(EventIn.model_fields)


def parse_event(item: Any) -> Parsed | list[Problem]:
    """One item of the body: who, name, properties and time, or why it is refused.

    The common well-formed item is checked here without pydantic (5x cheaper per item);
    it accepts only a subset of what `EventIn` accepts, with the same meaning, and
    anything else (every malformed item included) goes through `EventIn` for its
    precise errors.
    """
    if type(item) is not dict or not item.keys() <= _FIELDS:
        return _checked(item)
    person, name = item.get("person"), item.get("name")
    properties, when = item.get("properties", {}), item.get("time")
    if type(person) is not dict or len(person) != 1 or type(properties) is not dict:
        return _checked(item)
    if type(name) is not str or not 0 < len(name) <= 128:
        return _checked(item)
    if when is not None and type(when) is not str:
        return _checked(item)
    external = person.get("externalId")
    if type(external) is str and 0 < len(external) <= 255:
        return Ref(external, None), name, properties, when
    number = person.get("id")
    if type(number) is int and 1 <= number <= MAX_ID:
        return Ref(None, number), name, properties, when
    return _checked(item)


def _checked(item: Any) -> Parsed | list[Problem]:
    try:
        event = event_adapter.validate_python(item)
    except ValidationError as exc:
        return [Problem(d["field"], d["message"]) for d in validation_details(exc.errors())]
    return (
        Ref(event.person.externalId, event.person.id),
        event.name,
        event.properties,
        event.time,
    )


def parse_items(body: bytes, what: str) -> tuple[list[Any], bool]:
    """The items of a one-or-many body, and whether it was a single object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the request body is not valid JSON") from None
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise InvalidInput([Problem("body", f"must be {what} or a list of them")])
    if not data:
        raise InvalidInput([Problem("body", "the list is empty")])
    if len(data) > MAX_ITEMS:
        raise InvalidInput([Problem("body", f"at most {MAX_ITEMS} items per request")])
    return data, False
