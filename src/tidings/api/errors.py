"""The one place where errors become HTTP: `{"error": {"code", "message", "details"}}`.

A domain error is a 4xx; a request the schema refuses is a 4xx naming each field; a
database that cannot be reached is a 503 to retry; anything else is a bug, logged with
its traceback and answered 500 without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings.api.responses import JSONResponse
from tidings.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    NotFound,
    TidingsError,
    TooLarge,
    Unauthorized,
)
from tidings.store.outage import unavailable

log = logging.getLogger("tidings.api")

STATUS: list[tuple[type[TidingsError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (MalformedRequest, 400),
    (TooLarge, 413),
]


def envelope(
    status: int, code: str, message: str, details: list[Any] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers=headers,
    )


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "items", 0, "name")` -> `items.0.name`; the request part is dropped."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_details(errors: Any) -> list[dict[str, str]]:
    details = []
    for err in errors:
        message = err.get("msg", "is not valid")
        if err.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif err.get("type") == "missing":
            message = "is required"
        details.append({"field": field_path(err.get("loc", ())), "message": message})
    return details


def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return envelope(400, "malformed_json", "the request body is not valid JSON")
    details = validation_details(errors)
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return envelope(422, "invalid_input", message, details)


def _tidings_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TidingsError)
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return envelope(status, exc.code, exc.message, exc.details)
    return envelope(400, exc.code, exc.message, exc.details)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        415: "unsupported_media_type",
    }.get(exc.status_code, "error")
    return envelope(exc.status_code, code, str(exc.detail))


def unexpected(method: str, path: str, exc: Exception) -> JSONResponse:
    """The answer to an exception nothing else handled: 503 while the database is
    unreachable (the client retries), else 500 (a bug, logged with its traceback)."""
    if unavailable(exc):
        log.warning("database unavailable on %s %s: %s", method, path, exc.__class__.__name__)
        response = envelope(503, "unavailable", "the database is unavailable; retry shortly")
        response.headers["Retry-After"] = "1"
        return response
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return envelope(500, "internal", "an internal error occurred; it has been logged")


def _bug(request: Request, exc: Exception) -> JSONResponse:
    return unexpected(request.method, request.url.path, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(TidingsError, _tidings_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # the database's errors are registered apart from the catch-all: Starlette re-raises
    # what the catch-all answered (the server would log a 503's traceback again)
    app.add_exception_handler(DBAPIError, _bug)
    app.add_exception_handler(Exception, _bug)
