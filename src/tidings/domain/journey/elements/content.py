"""What a message says on each channel: its templates compiled once, rendered per person.

`render(data)` gives the `SendMessage.content` mapping and the number of parts (SMS parts;
1 elsewhere), or raises RenderError naming the field, so the send is skipped with a
trace instead of going out broken or empty.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar, assert_never

from tidings.domain import sms
from tidings.domain.flows.calls import VoiceCall
from tidings.domain.flows.messages import (
    EmailFields,
    SendFields,
    SmsFields,
    ViberFields,
    WhatsappFields,
)
from tidings.domain.journey.compiler import Compiler
from tidings.domain.templates import RenderError, Template

Data = Mapping[str, Any]


class Content(ABC):
    """One channel's message: who it is from and how it renders."""

    channel: ClassVar[str]
    contact: ClassVar[str] = "phone"  # what the recipient is: "phone" or "email"
    connection: int | None = None  # the element's own connection (domain/routes.py)
    track_links: bool = False  # the element asks for its links to be tracked

    def __init__(self, sender: str | None) -> None:
        self.sender = sender or ""

    @abstractmethod
    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        """The content for one person and its parts; RenderError when it cannot go out."""

    @abstractmethod
    def templates(self) -> tuple[Template | None, ...]:
        """Every template `render` may render."""

    @cached_property
    def static(self) -> tuple[Mapping[str, Any], int] | None:
        """What `render` gives everyone when no template reads anything (a fixed text),
        rendered once; None when it depends on who it is for (or does not render)."""
        if any(t is not None and t.reads != () for t in self.templates()):
            return None
        try:
            body, parts = self.render({})
        except RenderError:
            return None
        return MappingProxyType(body), parts


def _render(template: Template | None, field: str, data: Data) -> str | None:
    if template is None:
        return None
    try:
        return template.render(data)
    except RenderError as exc:
        raise RenderError(f"{field}: {exc.message}") from None


def _required(template: Template | None, field: str, data: Data) -> str:
    text = _render(template, field, data)
    if text is None or not text.strip():
        raise RenderError(f"{field}: the text is empty")
    return text


class SmsContent(Content):
    channel = "sms"

    def __init__(self, sender: str | None, text: Template | None) -> None:
        super().__init__(sender)
        self.text = text

    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        text = _required(self.text, "text", data)
        return {"text": text}, sms.parts(text)

    def templates(self) -> tuple[Template | None, ...]:
        return (self.text,)


class EmailContent(Content):
    channel = "email"
    contact = "email"

    def __init__(
        self,
        sender: str | None,
        subject: Template | None,
        html: Template | None,
        text: Template | None = None,
        reply_to: str | None = None,
    ) -> None:
        super().__init__(sender)
        self.subject, self.html, self.text, self.reply_to = subject, html, text, reply_to

    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {"subject": _render(self.subject, "subject", data) or ""}
        html = _render(self.html, "html", data)
        text = _render(self.text, "text", data)
        if not (html or "").strip() and not (text or "").strip():
            raise RenderError("html: the email is empty")
        if html is not None:
            out["html"] = html
        if text is not None:
            out["text"] = text
        if self.reply_to:
            out["replyTo"] = self.reply_to
        return out, 1

    def templates(self) -> tuple[Template | None, ...]:
        return (self.subject, self.html, self.text)


class WhatsappContent(Content):
    channel = "whatsapp"

    def __init__(self, fields: WhatsappFields, compiler: Compiler, where: str) -> None:
        super().__init__(fields.from_)
        self.text = compiler.template(fields.text, f"{where}.text")
        chosen = fields.template
        self.template = chosen
        self.params = tuple(
            compiler.template(p, f"{where}.template.params.{i}")
            for i, p in enumerate(chosen.params if chosen else ())
        )

    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        if self.template is None:
            return {"text": _required(self.text, "text", data)}, 1
        params = [_render(p, f"template.params.{i}", data) for i, p in enumerate(self.params)]
        chosen = {"name": self.template.name, "language": self.template.language}
        return {"template": {**chosen, "params": params}}, 1

    def templates(self) -> tuple[Template | None, ...]:
        return (self.text, *self.params)


class ViberContent(Content):
    channel = "viber"

    def __init__(self, fields: ViberFields, compiler: Compiler, where: str) -> None:
        super().__init__(fields.from_)
        self.text = compiler.template(fields.text, f"{where}.text")
        self.image = fields.image
        button = fields.button
        self.button = (
            (
                compiler.template(button.text, f"{where}.button.text"),
                compiler.template(button.url, f"{where}.button.url"),
            )
            if button is not None
            else None
        )

    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        text = _render(self.text, "text", data)
        if text is not None and text.strip():
            out["text"] = text
        if self.image:
            out["image"] = self.image
        if not out:
            raise RenderError("text: the message is empty")
        if self.button is not None:
            caption, url = self.button
            out["button"] = {
                "text": _render(caption, "button.text", data) or "",
                "url": _render(url, "button.url", data) or "",
            }
        return out, 1

    def templates(self) -> tuple[Template | None, ...]:
        return (self.text, *(self.button or ()))


class VoiceContent(Content):
    channel = "voice"

    def __init__(self, element: VoiceCall, compiler: Compiler) -> None:
        super().__init__(element.from_)
        self.connection = element.connection
        self.say = compiler.template(element.say, f"{element.id}.say")
        self.language = element.language
        collect = element.collect
        self.collect = (
            {"maxDigits": collect.max_digits, "timeout": collect.timeout} if collect else None
        )

    def render(self, data: Data) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {"say": _required(self.say, "say", data)}
        if self.language:
            out["language"] = self.language
        if self.collect is not None:
            out["collect"] = dict(self.collect)
        return out, 1

    def templates(self) -> tuple[Template | None, ...]:
        return (self.say,)


def content_of(fields: SendFields, compiler: Compiler, where: str) -> Content:
    """The content of a send element or a failover attempt, with its way out."""
    content = _content(fields, compiler, where)
    content.connection = fields.connection
    content.track_links = not isinstance(fields, EmailFields) and fields.track_links
    return content


def _content(fields: SendFields, compiler: Compiler, where: str) -> Content:
    if isinstance(fields, SmsFields):
        return SmsContent(fields.from_, compiler.template(fields.text, f"{where}.text"))
    if isinstance(fields, EmailFields):
        return EmailContent(
            fields.from_,
            compiler.template(fields.subject, f"{where}.subject"),
            compiler.template(fields.html, f"{where}.html"),
            compiler.template(fields.text, f"{where}.text"),
            fields.reply_to,
        )
    if isinstance(fields, WhatsappFields):
        return WhatsappContent(fields, compiler, where)
    if isinstance(fields, ViberFields):
        return ViberContent(fields, compiler, where)
    assert_never(fields)
