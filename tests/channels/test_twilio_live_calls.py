"""twilio_calls: Twilio's call webhooks as call events, the TwiML they are answered with,
and the live-call updates a voice message on a call becomes (no server, no database)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from tidings.channels.infobip_calls import (
    CAPTURED,
    FINISHED,
    RECEIVED,
    SAID,
    CallActionInvalid,
)
from tidings.channels.providers import CallbackRefused, Outgoing
from tidings.channels.twilio_calls import WAITING, events, reply, update_form

INBOUND = "https://tidings.example/api/v1/webhooks/tok/inbound"
CALL = {"CallSid": "CA" + "1" * 32, "From": "+385911111111", "To": "+385991000000"}


def test_the_webhooks_of_a_call_are_its_events() -> None:
    (received,) = events({**CALL, "CallStatus": "ringing", "Direction": "inbound"}, {})
    assert (received.type, received.caller, received.number) == (
        RECEIVED,
        "+385911111111",
        "+385991000000",
    )
    assert received.answered  # the reply answers it
    (said,) = events({**CALL, "CallStatus": "in-progress"}, {"m": "7", "said": "1"})
    assert (said.type, said.message_id) == (SAID, "7")
    (keyed,) = events(
        {**CALL, "CallStatus": "in-progress", "Digits": "42#"}, {"m": "7", "gather": "1"}
    )
    assert (keyed.type, keyed.digits, keyed.timed_out, keyed.message_id) == (
        CAPTURED,
        "42",
        False,
        "7",
    )
    (silent,) = events(
        {**CALL, "CallStatus": "in-progress", "Digits": ""}, {"m": "7", "gather": "1"}
    )
    assert (silent.digits, silent.timed_out) == (None, True)
    (hung,) = events({**CALL, "CallStatus": "completed"}, {})
    assert (hung.type, hung.error) == (FINISHED, None)
    (busy,) = events({**CALL, "CallStatus": "busy"}, {})
    assert (busy.type, busy.error) == (FINISHED, "busy")
    (waiting,) = events({**CALL, "CallStatus": "in-progress"}, {"wait": "1"})
    assert waiting.type == WAITING
    # a keep-alive redirect of a call still ringing is no new call
    (again,) = events({**CALL, "CallStatus": "ringing"}, {"wait": "1"})
    assert again.type == WAITING


@pytest.mark.parametrize(
    ("fields", "query", "field"),
    [
        ({**CALL, "CallSid": ""}, {}, "CallSid"),
        ({**CALL, "CallStatus": "answered-ish"}, {}, "CallStatus"),
        ({**CALL, "CallStatus": "ringing", "From": " "}, {}, "From"),
        ({**CALL, "CallStatus": "ringing", "To": ""}, {}, "To"),
        ({**CALL, "CallStatus": "ringing", "Direction": "outbound-api"}, {}, "Direction"),
        ({**CALL, "Digits": "1"}, {"gather": "1"}, "m"),
        ({**CALL, "Digits": "1"}, {"m": "x", "gather": "1"}, "m"),
        ({**CALL, "Digits": "1; DROP"}, {"m": "1", "gather": "1"}, "Digits"),
    ],
)
def test_a_malformed_call_webhook_is_refused_naming_the_field(
    fields: dict[str, str], query: dict[str, str], field: str
) -> None:
    with pytest.raises(CallbackRefused) as refused:
        events(fields, query)
    assert refused.value.field == field


def test_the_reply_keeps_answered_calls_on_the_line_and_ends_the_others() -> None:
    kept = ElementTree.fromstring(reply(f"{INBOUND}?m=7&said=1", "in-progress", "answered"))
    assert [verb.tag for verb in kept] == ["Pause", "Redirect"]
    assert kept[1].text == f"{INBOUND}?wait=1"
    assert kept[1].get("method") == "POST"
    rejected = ElementTree.fromstring(reply(INBOUND, "ringing", "ended"))
    assert [verb.tag for verb in rejected] == ["Reject"]
    for state in ("ending", "ended", None):
        ended = ElementTree.fromstring(reply(INBOUND, "in-progress", state))
        assert [verb.tag for verb in ended] == ["Hangup"]


def message(**content: object) -> Outgoing:
    return Outgoing(id="7", channel="voice", to="+385911111111", sender="", content=content)


def test_a_voice_message_on_a_call_is_a_live_call_update() -> None:
    call = {"id": CALL["CallSid"], "action": "say"}
    form = dict(update_form(message(say="Hi & bye", language="en", call=call), INBOUND))
    assert form["StatusCallback"] == INBOUND
    said = ElementTree.fromstring(form["Twiml"])
    assert [(v.tag, v.text) for v in said] == [
        ("Say", "Hi & bye"),
        ("Redirect", f"{INBOUND}?m=7&said=1"),
    ]
    collect = {"maxDigits": 2, "timeout": "PT7S", "variable": "x"}
    asked = dict(update_form(message(say="Press", call=call, collect=collect), INBOUND))
    (gather,) = ElementTree.fromstring(asked["Twiml"])
    assert gather.attrib == {
        "input": "dtmf",
        "numDigits": "2",
        "timeout": "7",
        "action": f"{INBOUND}?m=7&gather=1",
        "method": "POST",
        "actionOnEmptyResult": "true",
    }
    hang_up = update_form(message(call={"id": "CA1", "action": "hangup"}), INBOUND)
    assert hang_up == [("Status", "completed")]
    for bad in (
        message(call={"id": "CA1", "action": "answer"}),
        message(call={"id": "", "action": "say"}, say="x"),
        message(call={"id": "CA1", "action": "dance"}, say="x"),
        message(call={"id": "CA1"}, say=" "),
        message(call={"id": "CA1"}, say="x", collect={"maxDigits": 0}),
    ):
        with pytest.raises(CallActionInvalid):
            update_form(bad, INBOUND)
