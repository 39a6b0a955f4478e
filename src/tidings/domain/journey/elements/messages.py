"""Send elements: SMS, email, WhatsApp and Viber. Each sends one message and moves on.

The recipient is the person's first phone number (email: first address). A person
without one, or a message that does not render, is skipped with a trace and goes on
along `next` all the same: a send has no outcomes to branch on (use `wait_for_event`
on the element, or `failover`, to act on what happened to the message).

Outside the flow's send window the person waits at the element for the next opening (its
timer then sends), or the send is dropped and they go on (`journey/windows.py`).
"""

from __future__ import annotations

from tidings.domain.flows.messages import SendEmail, SendSms, SendViber, SendWhatsapp
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds
from tidings.domain.journey.elements.content import Content, content_of
from tidings.domain.journey.run import Go, Move, Run
from tidings.domain.journey.types import SendMessage
from tidings.domain.journey.windows import gate
from tidings.domain.templates import RenderError

NO_CONTACT = {"phone": "no phone number", "email": "no email address"}


def unsubscribed(channel: str) -> str:
    return f"the person unsubscribed from {channel}"


def compose(
    run: Run,
    element: str,
    content: Content,
    *,
    wants_result: bool = False,
    attempt: int | None = None,
) -> SendMessage | str:
    """The message for this person, or why it cannot go (unsubscribed, no contact, does
    not render)."""
    if content.channel in run.state.person.unsubscribed:
        return unsubscribed(content.channel)
    to = run.recipient(content.contact)
    if to is None:
        return NO_CONTACT[content.contact]
    static = content.static
    if static is not None:  # the same for everyone: rendered once
        body, parts = dict(static[0]), static[1]
    else:
        try:
            body, parts = content.render(run.template_data())
        except RenderError as exc:
            return exc.message
    return SendMessage(
        element=element,
        channel=content.channel,
        to=to,
        sender=content.sender,
        content=body,
        parts=parts,
        wants_result=wants_result,
        attempt=attempt,
        connection=content.connection,
        track_links=content.track_links,
    )


def deliver(
    run: Run,
    element: str,
    content: Content,
    *,
    wants_result: bool = False,
    attempt: int | None = None,
) -> bool:
    """Emit the message and count it; False (with a trace saying why) when it cannot go."""
    if content.channel in run.state.person.unsubscribed:
        # consent: the message is not made; the person goes on (DESIGN.md, Consent)
        run.trace(element, "not sent", unsubscribed(content.channel))
        run.count("sendsDropped")
        run.count("sendsDropped", element)
        return False
    message = compose(run, element, content, wants_result=wants_result, attempt=attempt)
    if isinstance(message, str):
        run.trace(element, "skipped", message)
        return False
    run.emit(message)
    run.count("messagesSent", None, message.parts)
    run.count("messagesSent", element, message.parts)
    return True


@builds(SendSms, SendEmail, SendWhatsapp, SendViber)
class Send(Handler):
    """Send one message, then go on."""

    def __init__(
        self, element: SendSms | SendEmail | SendWhatsapp | SendViber, compiler: Compiler
    ) -> None:
        super().__init__(element)
        self.content = content_of(element, compiler, element.id)

    def enter(self, run: Run) -> Move:
        if run.program.send_window is not None:
            held = gate(run, self.id)
            if held is not None:
                return held
        deliver(run, self.id, self.content)
        return Go()

    def on_timer(self, run: Run) -> Move:
        """The send window opened (nothing else holds a person at a send)."""
        return self.enter(run)
