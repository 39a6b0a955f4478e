"""Request and response shapes shared by several routes. Unknown fields are refused."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Path, Request
from pydantic import BaseModel, ConfigDict

from tidings.domain.errors import MalformedRequest


class Strict(BaseModel):
    """Base of every request body: an unknown field is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]]


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in [
        (400, "Malformed request"),
        (401, "Missing or invalid API key"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Body too large"),
        (422, "Invalid input; details name each field"),
    ]
}


MAX_ID = 2**63 - 1  # ids are BIGINT; a larger number can name nothing


def id_path(what: str) -> Any:
    """A server id in the path: a positive BIGINT (anything else is a 422, not a 500)."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id")


async def read_json(request: Request) -> Any:
    """The body as JSON, for routes that check their document themselves."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise MalformedRequest("the request body is not valid JSON") from None
