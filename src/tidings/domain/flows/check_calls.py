"""Checks of the elements that send and wait for the outcome."""

from __future__ import annotations

from tidings.domain.flows.calls import Failover, VoiceCall
from tidings.domain.flows.check_messages import check_send
from tidings.domain.flows.checker import Checker, checks
from tidings.domain.values import ValueType


@checks(VoiceCall)
def _voice_call(c: Checker, element: VoiceCall) -> None:
    c.require(element.from_, "from", "enter the calling number", element.id)
    c.require(element.say, "say", "enter what the call says", element.id)
    c.template(element.say, "say", element.id)
    c.connection(element.connection, "voice", "connection", element.id)
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
        check_send(c, attempt, element.id, f"attempts.{i}.")
    c.duration(element.wait_for_delivery, "waitForDelivery", element.id)
