"""The providers a connection may name, their settings and how one is made.

`sandbox` is a provider too: a connection of it routes its channels back to the sandbox
(the store's own table; channels/AGENTS.md), which a team uses to switch a channel off
a real provider without editing flows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from tidings.channels import infobip, smtp, twilio
from tidings.channels.answering import ApiClient
from tidings.channels.infobip import InfobipProvider, InfobipSettings
from tidings.channels.providers import CHANNELS, Provider
from tidings.channels.smtp import SmtpProvider, SmtpSettings
from tidings.channels.twilio import TwilioProvider, TwilioSettings

CHANNELS_OF: dict[str, tuple[str, ...]] = {
    "infobip": ("sms", "whatsapp", "viber", "voice", "email"),
    "twilio": ("sms", "whatsapp", "voice"),
    "smtp": ("email",),
    "sandbox": CHANNELS,
}
PROVIDERS = tuple(CHANNELS_OF)
PACING = "messagesPerSecond"  # any connection's: at most this many messages a second
# Providers that send no delivery reports: a message they accept is as delivered as it
# will be known to be (an SMTP server's 250), so it counts as delivered at once.
UNREPORTED = frozenset({"smtp"})


class SandboxSettings(BaseModel):
    """A sandbox connection has no settings."""

    model_config = ConfigDict(extra="forbid")


def settings_model(provider: str) -> type[BaseModel]:
    """The pydantic model of a provider's settings (camelCase on the wire)."""
    if provider == "infobip":
        return InfobipSettings
    if provider == "twilio":
        return TwilioSettings
    if provider == "smtp":
        return SmtpSettings
    if provider == "sandbox":
        return SandboxSettings
    raise KeyError(provider)


def secrets_of(provider: str) -> frozenset[str]:
    """The settings (wire names) that are write-only."""
    return {
        "infobip": infobip.SECRETS,
        "twilio": twilio.SECRETS,
        "smtp": smtp.SECRETS,
    }.get(provider, frozenset())


def make_provider(
    provider: str, settings: Mapping[str, Any], *, http: ApiClient, allow_private: bool
) -> Provider:
    """A provider for a connection's stored settings (validated when they were saved);
    the dispatcher's own settings (`PACING`) are not the provider's."""
    own = {k: v for k, v in settings.items() if k != PACING}
    model = settings_model(provider).model_validate(own)
    if isinstance(model, InfobipSettings):
        return InfobipProvider(model, http, allow_private=allow_private)
    if isinstance(model, TwilioSettings):
        return TwilioProvider(model, http, allow_private=allow_private)
    if isinstance(model, SmtpSettings):
        return SmtpProvider(model, allow_private=allow_private)
    raise KeyError(provider)
