"""A `call_api` provider that answers every call itself: 200 with an empty JSON body,
nothing sent. `tidings simulate` chooses it (unless `--call-apis`), through the
composition root, so a simulation never leaves the machine."""

from __future__ import annotations

from typing import Protocol

from tidings.channels.call_api import ApiRequest, ApiResult


class ApiClient(Protocol):
    """What the engine's caller needs of a `call_api` provider (`CallApi` is the real one)."""

    async def call(self, request: ApiRequest, *, allow_private: bool) -> ApiResult: ...

    async def aclose(self) -> None: ...


class AnsweringApi:
    """Every call answered 200 `{}` at once."""

    async def call(self, request: ApiRequest, *, allow_private: bool) -> ApiResult:
        return ApiResult("success", 200, {"status": 200, "body": {}, "headers": {}})

    async def aclose(self) -> None:
        return None
