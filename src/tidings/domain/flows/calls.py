"""Elements that send and wait for the outcome: a voice call, a failover across channels."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from tidings.domain.flows.base import (
    ElementBase,
    Model,
    Template,
    VariableName,
)
from tidings.domain.flows.messages import EmailFields, SmsFields, ViberFields, WhatsappFields


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
    connection: int | None = Field(
        default=None,
        ge=1,
        description="The connection (id) it goes out through; default: the account's "
        "default connection for voice, else the sandbox.",
    )


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
