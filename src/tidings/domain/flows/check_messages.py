"""Checks of the channel elements: a sender, content, valid templates."""

from __future__ import annotations

from tidings.domain.flows.actions import Notify
from tidings.domain.flows.checker import Checker, checks
from tidings.domain.flows.messages import (
    EmailFields,
    Failover,
    SendEmail,
    SendFields,
    SendSms,
    SendViber,
    SendWhatsapp,
    SmsFields,
    ViberFields,
    VoiceCall,
    WhatsappFields,
)
from tidings.domain.values import ValueType

SENDER = "enter a sender"
TEXT = "enter the message text"


def _sms(c: Checker, fields: SmsFields, element: str, prefix: str) -> None:
    c.require(fields.from_, f"{prefix}from", SENDER, element)
    c.require(fields.text, f"{prefix}text", TEXT, element)
    c.template(fields.text, f"{prefix}text", element)


def _email(c: Checker, fields: EmailFields, element: str, prefix: str) -> None:
    c.require(fields.from_, f"{prefix}from", "enter a sender address", element)
    c.require(fields.subject, f"{prefix}subject", "enter a subject", element)
    if not (fields.html or "").strip() and not (fields.text or "").strip():
        c.add(f"{prefix}html", "enter the email content (html or text)", element)
    for name, value in (("subject", fields.subject), ("html", fields.html), ("text", fields.text)):
        c.template(value, f"{prefix}{name}", element)


def _whatsapp(c: Checker, fields: WhatsappFields, element: str, prefix: str) -> None:
    c.require(fields.from_, f"{prefix}from", SENDER, element)
    if fields.template is not None and fields.text is not None:
        c.add(f"{prefix}template", "use either text or a template, not both", element)
    elif fields.template is None:
        c.require(fields.text, f"{prefix}text", "enter the message text or a template", element)
        c.template(fields.text, f"{prefix}text", element)
    else:
        where = f"{prefix}template"
        c.require(fields.template.name, f"{where}.name", "enter the template name", element)
        c.require(fields.template.language, f"{where}.language", "enter its language", element)
        for i, param in enumerate(fields.template.params):
            c.template(param, f"{where}.params.{i}", element)


def _viber(c: Checker, fields: ViberFields, element: str, prefix: str) -> None:
    c.require(fields.from_, f"{prefix}from", SENDER, element)
    if not (fields.text or "").strip() and not (fields.image or "").strip():
        c.add(f"{prefix}text", "enter the message text or an image", element)
    c.template(fields.text, f"{prefix}text", element)
    if fields.button is not None:
        c.require(fields.button.text, f"{prefix}button.text", "enter the button text", element)
        c.require(fields.button.url, f"{prefix}button.url", "enter the button link", element)
        c.template(fields.button.text, f"{prefix}button.text", element)
        c.template(fields.button.url, f"{prefix}button.url", element)


def _send(c: Checker, fields: SendFields, element: str, prefix: str) -> None:
    if isinstance(fields, SmsFields):
        _sms(c, fields, element, prefix)
    elif isinstance(fields, EmailFields):
        _email(c, fields, element, prefix)
    elif isinstance(fields, WhatsappFields):
        _whatsapp(c, fields, element, prefix)
    else:
        _viber(c, fields, element, prefix)


@checks(SendSms)
def _send_sms(c: Checker, element: SendSms) -> None:
    _sms(c, element, element.id, "")


@checks(SendEmail)
def _send_email(c: Checker, element: SendEmail) -> None:
    _email(c, element, element.id, "")


@checks(SendWhatsapp)
def _send_whatsapp(c: Checker, element: SendWhatsapp) -> None:
    _whatsapp(c, element, element.id, "")


@checks(SendViber)
def _send_viber(c: Checker, element: SendViber) -> None:
    _viber(c, element, element.id, "")


@checks(VoiceCall)
def _voice_call(c: Checker, element: VoiceCall) -> None:
    c.require(element.from_, "from", "enter the calling number", element.id)
    c.require(element.say, "say", "enter what the call says", element.id)
    c.template(element.say, "say", element.id)
    if element.collect is not None:
        kind = c.variable(element.collect.variable, "collect.variable", element.id)
        if kind not in (None, ValueType.text, ValueType.integer):
            c.add(
                "collect.variable", "collected digits need a text or integer variable", element.id
            )
        c.duration(element.collect.timeout, "collect.timeout", element.id)
    elif isinstance(element.next, dict) and "collected" in element.next:
        c.add("next.collected", "the call collects no digits: add collect", element.id)


@checks(Failover)
def _failover(c: Checker, element: Failover) -> None:
    if len(element.attempts) < 2:
        c.add("attempts", "add at least two channels to try one after the other", element.id)
    for i, attempt in enumerate(element.attempts):
        _send(c, attempt, element.id, f"attempts.{i}.")
    c.duration(element.wait_for_delivery, "waitForDelivery", element.id)


@checks(Notify)
def _notify(c: Checker, element: Notify) -> None:
    e = element.id
    c.require(element.channel, "channel", "choose sms or email", e)
    c.expression(
        element.to,
        "to",
        e,
        scope=c.scope(),
        expect=ValueType.text,
        required="enter who to notify",
    )
    c.require(element.from_, "from", SENDER, e)
    if element.channel == "sms":
        c.require(element.text, "text", TEXT, e)
    elif element.channel == "email":
        c.require(element.subject, "subject", "enter a subject", e)
        c.require(element.html, "html", "enter the email content", e)
    for name, value in (("text", element.text), ("subject", element.subject)):
        c.template(value, name, e)
    c.template(element.html, "html", e)
