"""Offset paging shared by every list: `?limit=&offset=` in, `{"items", "hasMore"}` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: int = Query(100, ge=1, le=1000, description="How many items, 1 to 1,000."),
    offset: int = Query(0, ge=0, le=10_000_000, description="How many items to skip."),
) -> PageParams:
    return PageParams(limit, offset)


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    hasMore: bool


def page_of(rows: list[Any], params: PageParams) -> dict[str, Any]:
    """`rows` was fetched with `limit + 1`, so one extra row means there is more."""
    return {
        "items": rows[: params.limit],
        "limit": params.limit,
        "offset": params.offset,
        "hasMore": len(rows) > params.limit,
    }
