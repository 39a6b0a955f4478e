"""Elements that send one message: SMS, email, WhatsApp, Viber.

A send's fields are their own models, so a failover's attempts reuse them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_MAP,
    ElementBase,
    Model,
    Template,
)

SENDER = "The sender: a number, an alphanumeric sender id or an address."


class Routed(Model):
    """What every send (and failover attempt) may say about its way out."""

    connection: int | None = Field(
        default=None,
        ge=1,
        description="The connection (id) it goes out through; default: the account's "
        "default connection for the channel, else the sandbox.",
    )


class Tracked(Routed):
    track_links: bool = Field(
        default=False,
        description="Rewrite the links in the text so clicks are counted (message.clicked).",
    )


class SmsFields(Tracked):
    from_: str | None = Field(default=None, alias="from", max_length=320, description=SENDER)
    text: Template | None = Field(default=None, description="The message text (Liquid).")


class EmailFields(Routed):
    from_: str | None = Field(
        default=None, alias="from", max_length=320, description="The sender address."
    )
    reply_to: str | None = Field(
        default=None, max_length=320, description="Where replies go, when not the sender."
    )
    subject: Template | None = Field(default=None, description="The subject line (Liquid).")
    html: Template | None = Field(default=None, description="The HTML body (Liquid).")
    text: Template | None = Field(default=None, description="The plain-text alternative (Liquid).")


class WhatsappTemplate(Model):
    """A pre-approved WhatsApp message template."""

    name: str = Field(max_length=512, description="The template's registered name.")
    language: str = Field(max_length=35, description="The template language, e.g. en or hr.")
    params: list[Template] = Field(
        default_factory=list, max_length=MAX_MAP, description="Values of {{1}}, {{2}}…, Liquid."
    )


class WhatsappFields(Tracked):
    from_: str | None = Field(default=None, alias="from", max_length=320, description=SENDER)
    text: Template | None = Field(
        default=None, description="Free-form text (Liquid); inside the 24 h session only."
    )
    template: WhatsappTemplate | None = Field(
        default=None, description="A registered template; use text or template."
    )


class ViberButton(Model):
    text: Template = Field(description="The button caption (Liquid).")
    url: Template = Field(description="Where the button leads (Liquid).")


class ViberFields(Tracked):
    from_: str | None = Field(default=None, alias="from", max_length=320, description=SENDER)
    text: Template | None = Field(default=None, description="The message text (Liquid).")
    image: str | None = Field(default=None, max_length=2048, description="An image URL.")
    button: ViberButton | None = Field(default=None, description="A call-to-action button.")


class SendSms(ElementBase, SmsFields):
    """Send an SMS."""

    type: Literal["send_sms"] = Field(description="Send an SMS.")


class SendEmail(ElementBase, EmailFields):
    """Send an email."""

    type: Literal["send_email"] = Field(description="Send an email.")


class SendWhatsapp(ElementBase, WhatsappFields):
    """Send a WhatsApp message."""

    type: Literal["send_whatsapp"] = Field(description="Send a WhatsApp message.")


class SendViber(ElementBase, ViberFields):
    """Send a Viber message."""

    type: Literal["send_viber"] = Field(description="Send a Viber message.")


SendFields = SmsFields | EmailFields | WhatsappFields | ViberFields
SEND_TYPES = frozenset({"send_sms", "send_email", "send_whatsapp", "send_viber", "failover"})
