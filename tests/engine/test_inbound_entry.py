"""Inbound messages end to end: `inbound` entries take only the messages to their channel,
number and keyword, and `evaluate_inbound` branches on the message that brought the
person in; through the public API on the virtual clock, on both databases.

An inbound message is the person's standard event `message.received` (channel, from, to,
text, keyword: the first word, upper-cased), posted here through `POST /events` as the
provider webhooks post it.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.api.flows.helpers import launched, new_flow
from tests.conftest import Api
from tests.engine.test_journeys import drain, messages, perf, person

A = "+385991000001"  # our numbers
B = "+385991000002"
C = "+385991000003"
PHONES = {"ana": "+385911000001", "ivo": "+385911000002", "eva": "+385911000003"}


def inbound(
    name: str,
    number: str,
    keyword: str | None = None,
    *,
    channel: str = "sms",
    elements: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An inbound flow; by default it texts back what it was sent and to which number."""
    entry: dict[str, Any] = {
        "type": "inbound",
        "channel": channel,
        "number": number,
        "assign": {"reply": "event.text", "to": "event.to", "word": "event.keyword"},
    }
    if keyword is not None:
        entry["keyword"] = keyword
    text = name + ": {{ reply }} to {{ to }} ({{ word }})"
    return {
        "name": name,
        "entry": entry,
        "variables": [
            {"name": "reply", "type": "text"},
            {"name": "sender", "type": "text"},
            {"name": "to", "type": "text"},
            {"name": "word", "type": "text"},
        ],
        "elements": elements or [{"id": "back", "type": "send_sms", "from": "Shop", "text": text}],
    }


def people(api: Api) -> dict[str, int]:
    return {name: person(api, name, phones=[phone]) for name, phone in PHONES.items()}


def received(api: Api, who: str, text: str, to: str, channel: str = "sms") -> None:
    """`who` sends `text` to our number `to`, as a provider webhook reports it."""
    words = text.split()
    properties = {"channel": channel, "from": PHONES[who], "to": to, "text": text}
    if words:
        properties["keyword"] = words[0].upper()
    body = {"person": {"externalId": who}, "name": "message.received", "properties": properties}
    answer = api.post("/events", json=body)
    assert answer.status_code == 202, answer.text


def texts(api: Api, flow: int) -> list[tuple[str, str]]:
    """(recipient, text) of the flow's messages."""
    return sorted((m["to"], m["text"]) for m in messages(api, flow))


def test_inbound_entries_take_only_the_messages_to_their_channel_number_and_keyword(
    api: Api,
) -> None:
    join = launched(api, inbound("Join", "385 99 100 0001", "join"))["id"]  # no "+", spaced
    win = launched(api, inbound("Win", A, "WIN"))["id"]
    whole = launched(api, inbound("Whole", B))["id"]  # no keyword: every message to B
    chat = launched(api, inbound("Chat", A, "JOIN", channel="whatsapp"))["id"]
    people(api)
    received(api, "ana", "Join now", A)  # any case
    received(api, "ivo", "win BIG", A)
    received(api, "eva", "hello", A)  # no flow takes "hello" on A
    received(api, "eva", "anything at all", B)
    received(api, "ivo", "joining?", A)  # the first word is "joining", not "join"
    received(api, "ivo", "JOIN", "+385991000009")  # not our number
    received(api, "ivo", "hi", B, channel="viber")  # B takes SMS only
    received(api, "eva", "join", A, channel="whatsapp")  # the WhatsApp flow, not the SMS one
    drain(api)
    ana, ivo, eva = PHONES["ana"], PHONES["ivo"], PHONES["eva"]
    assert texts(api, join) == [(ana, f"Join: Join now to {A} (JOIN)")]
    assert texts(api, win) == [(ivo, f"Win: win BIG to {A} (WIN)")]
    assert texts(api, whole) == [(eva, f"Whole: anything at all to {B} (ANYTHING)")]
    assert texts(api, chat) == [(eva, f"Chat: join to {A} (JOIN)")]
    for flow in (join, win, whole, chat):
        assert perf(api, flow)["flow"]["profilesInFlow"] == 1
    # a message without the keyword property: its text's first word decides
    body = {"channel": "sms", "from": ivo, "to": A, "text": "  jOiN please"}
    event = {"person": {"externalId": "ivo"}, "name": "message.received", "properties": body}
    assert api.post("/events", json=event).status_code == 202
    drain(api)
    assert texts(api, join)[-1] == (ivo, f"Join:   jOiN please to {A} ()")


def test_a_person_enters_again_on_their_next_message(api: Api) -> None:
    whole = launched(api, inbound("Whole", B) | {"settings": {"reentry": {"enabled": True}}})
    people(api)
    received(api, "ana", "one", B)
    drain(api)
    received(api, "ana", "two", B)
    drain(api)
    assert [text for _, text in texts(api, whole["id"])] == [
        f"Whole: one to {B} (ONE)",
        f"Whole: two to {B} (TWO)",
    ]


CODE = r"\b\d{4}\b"
EVALUATE: list[dict[str, Any]] = [
    {
        "id": "ask",
        "type": "evaluate_inbound",
        "branches": [
            {"name": "yes", "keyword": "yes"},
            {"name": "code", "regex": CODE},
            {"name": "no", "regex": "(?i)^no\\b"},
        ],
        "assign": {"text": "reply", "sender": "sender"},
        "next": {"yes": "ok", "code": "got", "no": "bye", "otherwise": "what"},
    },
    {"id": "ok", "type": "send_sms", "from": "Shop", "text": "yes from {{ sender }}"},
    {"id": "got", "type": "send_sms", "from": "Shop", "text": "code in {{ reply }}"},
    {"id": "bye", "type": "exit"},
    {"id": "what", "type": "send_sms", "from": "Shop", "text": "what is {{ reply }}?"},
]


def test_evaluate_inbound_branches_on_the_message_that_brought_the_person_in(
    api: Api,
) -> None:
    flow = launched(api, inbound("Ask", C, elements=EVALUATE))["id"]
    ids = people(api)
    received(api, "ana", "YES please", C)
    received(api, "ivo", "my code is 1234", C)
    received(api, "eva", "maybe later", C)
    drain(api)
    ana, ivo, eva = PHONES["ana"], PHONES["ivo"], PHONES["eva"]
    assert texts(api, flow) == [
        (ana, f"yes from {ana}"),
        (ivo, "code in my code is 1234"),
        (eva, "what is maybe later?"),
    ]
    stats = perf(api, flow)["elements"]
    assert {name: stats[name]["totalEngagements"] for name in ("ok", "got", "what")} == {
        "ok": 1,
        "got": 1,
        "what": 1,
    }
    why = {name: branch(api, ids[name]) for name in ("ana", "ivo", "eva")}
    assert why == {
        "ana": "'yes' matched: keyword 'YES'",
        "ivo": f"'code' matched: regex {CODE!r} found '1234'",
        "eva": "no branch matched 'maybe later': otherwise",
    }
    # they left; a second message is a new entry (re-entry is on by default), any case
    received(api, "eva", "No thanks", C)
    drain(api)
    assert branch(api, ids["eva"]) == "'no' matched: regex '(?i)^no\\\\b' found 'No'"
    assert len(texts(api, flow)) == 3


def branch(api: Api, pid: int) -> str:
    """Why the person's latest journey took its evaluate_inbound branch."""
    journey = api.get(f"/people/{pid}/journeys").json()["journeys"][0]
    [why] = [s["why"] for s in journey["steps"] if s["what"] == "branch"]
    return str(why)


def problems(api: Api, document: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    flow = new_flow(api, document)
    found = api.post(f"/flows/{flow['id']}/validate").json()["problems"]
    refused = api.post(f"/flows/{flow['id']}/launch")
    assert refused.status_code == (409 if found else 200), refused.text
    return [(p.get("element"), p["field"], p["message"]) for p in found]


def test_evaluate_inbound_refuses_a_bad_regex_at_validation(api: Api) -> None:
    for regex, message in [
        ("((", "is not a regular expression Tidings can run"),
        ("x" * 10 + "(?<=a)b", "is not a regular expression Tidings can run"),
        ("x" * 201, "is longer than 200 characters"),
    ]:
        ask = copy.deepcopy(EVALUATE[0])
        ask["branches"][1]["regex"] = regex
        elements = [ask, *EVALUATE[1:]]
        doc = inbound("Bad", C, elements=elements)
        [(element, field, said)] = problems(api, doc)
        assert (element, field) == ("ask", "branches.1.regex")
        assert said.startswith(message), said


def test_evaluate_inbound_needs_an_inbound_message(api: Api) -> None:
    doc = inbound("Api", C, elements=EVALUATE)
    doc["entry"] = {"type": "api"}
    [(element, field, said)] = problems(api, doc)
    assert (element, field) == ("ask", "")
    assert "inbound entry" in said
    # an event entry on message.received brings one too
    doc["entry"] = {
        "type": "event",
        "event": "message.received",
        "where": "event.to == '" + C + "'",
    }
    assert problems(api, doc) == []
    people(api)
    received(api, "ivo", "yes", C)
    drain(api)
    assert texts(api, doc_flow(api, "Api")) == [(PHONES["ivo"], f"yes from {PHONES['ivo']}")]


def doc_flow(api: Api, name: str) -> int:
    """The launched flow named `name`."""
    [flow] = [
        f["id"]
        for f in api.get("/flows").json()["items"]
        if f["name"] == name and f["status"] == "active"
    ]
    return int(flow)
