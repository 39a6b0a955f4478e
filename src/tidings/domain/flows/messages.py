"""Channel elements: SMS, email, WhatsApp, Viber, voice calls and failover.

Each channel's fields live in one mixin that both the element and the failover attempt
use, so an attempt is exactly a send element without `id`, `name` and `next`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    MAX_MAP,
    ElementBase,
    Model,
    Template,
    VariableName,
)

SENDER = "The sender: a number, an alphanumeric sender id or an address."


class SmsFields(Model):
    from_: str | None = Field(default=None, alias="from", max_length=320, description=SENDER)
    text: Template | None = Field(default=None, description="The message text (Liquid).")


class EmailFields(Model):
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


class WhatsappFields(Model):
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


class ViberFields(Model):
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


class Collect(Model):
    """Collect keypad digits during a call into a flow variable."""

    variable: VariableName = Field(description="The flow variable the digits go to.")
    max_digits: int = Field(default=1, ge=1, le=64, description="How many digits to read.")
    timeout: str = Field(default="PT5S", max_length=64, description="How long to wait for digits.")


class VoiceCall(ElementBase):
    """Call the person and say a text; optionally collect digits."""

    OUTCOMES: ClassVar[tuple[str, ...]] = ("answered", "notAnswered", "collected")
    WAITS: ClassVar[bool] = True  # the call's outcome comes back later

    type: Literal["voice_call"] = Field(description="Make a voice call.")
    from_: str | None = Field(
        default=None, alias="from", max_length=64, description="The calling number."
    )
    say: Template | None = Field(default=None, description="What the call says (Liquid).")
    language: str | None = Field(
        default=None, max_length=35, description="The text-to-speech language, e.g. en."
    )
    collect: Collect | None = Field(default=None, description="Digits to collect.")


class SmsAttempt(SmsFields):
    type: Literal["send_sms"] = Field(description="Try an SMS.")


class EmailAttempt(EmailFields):
    type: Literal["send_email"] = Field(description="Try an email.")


class WhatsappAttempt(WhatsappFields):
    type: Literal["send_whatsapp"] = Field(description="Try WhatsApp.")


class ViberAttempt(ViberFields):
    type: Literal["send_viber"] = Field(description="Try Viber.")


Attempt = Annotated[
    SmsAttempt | EmailAttempt | WhatsappAttempt | ViberAttempt,
    Field(discriminator="type", description="A send without id or next."),
]
SendFields = SmsFields | EmailFields | WhatsappFields | ViberFields


class Failover(ElementBase):
    """Try channels in order until one message is delivered."""

    OUTCOMES: ClassVar[tuple[str, ...]] = ("delivered", "failed")
    WAITS: ClassVar[bool] = True  # waits for delivery reports

    type: Literal["failover"] = Field(description="Try channels in order.")
    attempts: list[Attempt] = Field(
        default_factory=list, max_length=5, description="The sends to try, in order."
    )
    wait_for_delivery: str = Field(
        default="PT1H",
        max_length=64,
        description="How long to wait for a delivery report before the next attempt.",
    )


SEND_TYPES = frozenset({"send_sms", "send_email", "send_whatsapp", "send_viber", "failover"})
