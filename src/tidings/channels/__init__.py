"""Channels: outbox rows to provider calls, provider callbacks to events."""

from tidings.channels.call_api import ApiRequest, ApiResult, CallApi
from tidings.channels.pinned import PinnedResolver

__all__ = ["ApiRequest", "ApiResult", "CallApi", "PinnedResolver"]
