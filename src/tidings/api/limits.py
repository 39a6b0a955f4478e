"""Refuse oversize bodies before they are read into memory (pure ASGI, no per-call cost)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.api.errors import envelope


class BodyLimit:
    """`max_bytes` for every path, except paths ending with a key of `larger` (uploads)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple((larger or {}).items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        path = scope.get("path", "")
        for suffix, allowed in self.larger:
            if path.endswith(suffix):
                limit = max(limit, allowed)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > limit:
                    await self._refuse(scope, receive, send, limit)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = envelope(
            413, "too_large", f"the request body is over the limit of {limit} bytes"
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
