"""Channels: outbox rows to provider calls, provider callbacks to events."""

from tidings.channels.answering import AnsweringApi, ApiClient
from tidings.channels.call_api import ApiRequest, ApiResult, CallApi
from tidings.channels.pinned import PinnedResolver

__all__ = ["AnsweringApi", "ApiClient", "ApiRequest", "ApiResult", "CallApi", "PinnedResolver"]
