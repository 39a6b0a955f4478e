"""Schemas of bodies that hot routes parse themselves (raw orjson, item by item), added to
the OpenAPI document so that clients and schemathesis still see the exact shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

_EXTRA: dict[str, dict[str, Any]] = {}


def register(name: str, adapter: TypeAdapter[Any]) -> dict[str, str]:
    """Publish `adapter`'s schema as `#/components/schemas/{name}`; return a `$ref` to it."""
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    for sub, definition in schema.pop("$defs", {}).items():
        _EXTRA[sub] = definition
    _EXTRA[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def one_or_many(ref: dict[str, str], max_items: int) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            ref,
                            {"type": "array", "items": ref, "minItems": 1, "maxItems": max_items},
                        ]
                    }
                }
            },
        }
    }


def many(ref: dict[str, str], max_items: int) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": ref, "minItems": 1, "maxItems": max_items}
                }
            },
        }
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(_EXTRA)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
