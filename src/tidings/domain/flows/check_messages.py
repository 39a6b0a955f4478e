"""Checks of the elements that send one message: a sender, content, valid templates."""

from __future__ import annotations

import re
from typing import assert_never

from tidings.domain.flows.checker import Checker, checks
from tidings.domain.flows.messages import (
    EmailFields,
    SendEmail,
    SendFields,
    SendSms,
    SendViber,
    SendWhatsapp,
    SmsFields,
    ViberFields,
    WhatsappFields,
)

SENDER = "enter a sender"
TEXT = "enter the message text"
# An SMS sender as carriers take it: a number (E.164, or a short code) or an alphanumeric
# sender id of at most 11 characters with a letter in it.
_NUMBER = re.compile(r"\+?[0-9]{3,15}")
_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 .&_-]{1,11}")


def _sms(c: Checker, fields: SmsFields, element: str, prefix: str) -> None:
    c.require(fields.from_, f"{prefix}from", SENDER, element)
    sender = fields.from_
    if sender and not (_NUMBER.fullmatch(sender) or _ALPHANUMERIC.fullmatch(sender)):
        c.add(
            f"{prefix}from",
            "an SMS sender is a number (up to 15 digits) or at most 11 letters and digits",
            element,
        )
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


def check_send(c: Checker, fields: SendFields, element: str, prefix: str) -> None:
    if isinstance(fields, SmsFields):
        _sms(c, fields, element, prefix)
        channel = "sms"
    elif isinstance(fields, EmailFields):
        _email(c, fields, element, prefix)
        channel = "email"
    elif isinstance(fields, WhatsappFields):
        _whatsapp(c, fields, element, prefix)
        channel = "whatsapp"
    elif isinstance(fields, ViberFields):
        _viber(c, fields, element, prefix)
        channel = "viber"
    else:
        assert_never(fields)
    c.connection(fields.connection, channel, f"{prefix}connection", element)


@checks(SendSms)
def _send_sms(c: Checker, element: SendSms) -> None:
    check_send(c, element, element.id, "")


@checks(SendEmail)
def _send_email(c: Checker, element: SendEmail) -> None:
    check_send(c, element, element.id, "")


@checks(SendWhatsapp)
def _send_whatsapp(c: Checker, element: SendWhatsapp) -> None:
    check_send(c, element, element.id, "")


@checks(SendViber)
def _send_viber(c: Checker, element: SendViber) -> None:
    check_send(c, element, element.id, "")
