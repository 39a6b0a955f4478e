"""What the Twilio stand-in's endpoints share: Twilio's error answer and its form reader."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web


class TwilioError(Exception):
    """An answer in Twilio's error shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def pairs(request: web.Request) -> list[tuple[str, str]]:
    """A request's form fields, in order; TwilioError when it is not form data."""
    media = request.content_type
    if media != "application/x-www-form-urlencoded":
        raise TwilioError(400, 20001, f"Unsupported content type {media or 'none'}")
    try:
        text = (await request.read()).decode("utf-8")
        return parse_qsl(text, keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise TwilioError(400, 20001, "The request body is not form data") from None


def error(exc: TwilioError, headers: Mapping[str, str] | None = None) -> web.Response:
    """Twilio's error JSON `{"code", "message", "more_info", "status"}`."""
    body = {
        "code": exc.code,
        "message": exc.message,
        "more_info": f"https://www.twilio.com/docs/errors/{exc.code}",
        "status": exc.status,
    }
    return web.json_response(body, status=exc.status, headers=headers)
