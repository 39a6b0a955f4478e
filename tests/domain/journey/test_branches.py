"""`segment` (first match), `split` (stable per person, by the percentages) and
`evaluate_inbound` (keyword or regex on the message that brought the person in)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.journey.helpers import ANA, Journey, compiled, flow, traces, visited
from tidings.domain.journey.elements.branches import bucket

ENDS = [{"id": name, "type": "exit"} for name in ("big", "small", "rest", "a", "b", "c")]


def segment(*branches: dict[str, Any]) -> dict[str, Any]:
    names = {b["name"]: b["name"] for b in branches}
    return flow(
        {
            "id": "s",
            "type": "segment",
            "branches": list(branches),
            "next": {**names, "otherwise": "rest"},
        },
        *ENDS,
    )


def test_the_first_matching_branch_wins() -> None:
    doc = segment(
        {"name": "big", "when": "event.cartValue > 50"},
        {"name": "small", "when": "event.cartValue > 0"},
    )
    step = Journey(doc).enter(cartValue=80)
    assert visited(step) == ["s", "big"]
    assert traces(step, "branch") == [
        ("s", "branch", "segment 'big' matched: event.cartValue > 50")
    ]
    assert visited(Journey(doc).enter(cartValue=10)) == ["s", "small"]


def test_no_match_takes_otherwise() -> None:
    doc = segment({"name": "big", "when": "event.cartValue > 50"})
    step = Journey(doc).enter()
    assert visited(step) == ["s", "rest"]
    assert traces(step, "branch") == [("s", "branch", "no branch matched: otherwise")]


def test_a_segment_reads_variables_and_the_profile() -> None:
    doc = segment(
        {"name": "big", "when": 'person.country == "HR" and "vip" in person.tags'},
    )
    assert visited(Journey(doc).enter()) == ["s", "big"]
    assert visited(Journey(doc, ANA._replace(tags=frozenset())).enter()) == ["s", "rest"]


def split(*shares: int) -> dict[str, Any]:
    names = ["a", "b", "c"][: len(shares)]
    return flow(
        {
            "id": "ab",
            "type": "split",
            "branches": [{"name": n, "percent": p} for n, p in zip(names, shares, strict=True)],
            "next": {n: n for n in names},
        },
        *ENDS,
    )


def taken(doc: dict[str, Any], person_id: int) -> str:
    step = Journey(compiled(doc), ANA._replace(id=person_id)).enter()
    return visited(step)[-1]


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=2**62))
def test_a_split_is_stable_per_person(person_id: int) -> None:
    doc = split(50, 30, 20)
    first = taken(doc, person_id)
    assert taken(doc, person_id) == first
    # The same person, another participation (re-entry): the same branch.
    assert first in ("a", "b", "c")


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=2**40))
def test_a_split_follows_its_percentages(share: int, offset: int) -> None:
    counted = Counter(
        "a" if bucket(7, offset + person, "ab", 100) < share else "b" for person in range(4000)
    )
    # 4,000 people: a binomial standard deviation is at most 0.8 points; allow 4.
    assert abs(counted["a"] / 4000 * 100 - share) <= 4
    if share == 0:
        assert counted["a"] == 0
    if share == 100:
        assert counted["b"] == 0


def test_the_split_of_many_people_through_the_step_function() -> None:
    program = compiled(split(70, 30))
    counted = Counter(
        visited(Journey(program, ANA._replace(id=person)).enter())[-1] for person in range(2000)
    )
    assert 0.66 <= counted["a"] / 2000 <= 0.74
    step = Journey(program, ANA._replace(id=3)).enter()
    [(_, _, why)] = traces(step, "branch")
    assert why is not None
    assert why.startswith(f"split {visited(step)[-1]!r}: bucket ")


def test_splits_of_the_same_id_in_two_flows_are_independent() -> None:
    same = sum(
        (bucket(1, person, "ab", 100) < 50) == (bucket(2, person, "ab", 100) < 50)
        for person in range(2000)
    )
    assert 900 <= same <= 1100


ENDING = {e["id"] for e in ENDS}
INBOUND = {"type": "inbound", "channel": "sms", "number": "+385991234567"}
TEXT_VARIABLES = [{"name": "reply", "type": "text"}, {"name": "sender", "type": "text"}]


def evaluate(*branches: dict[str, Any], **assign: str) -> dict[str, Any]:
    names = {b["name"]: b["name"] for b in branches}
    return flow(
        {
            "id": "inb",
            "type": "evaluate_inbound",
            "branches": list(branches),
            "assign": assign,
            "next": {**names, "otherwise": "rest"},
        },
        *ENDS,
        *({"id": name, "type": "exit"} for name in names if name not in ENDING),
        entry=INBOUND,
        variables=TEXT_VARIABLES,
    )


def message(text: str, **more: Any) -> dict[str, Any]:
    word = text.split()[0].upper() if text.split() else ""
    sent = {"channel": "sms", "from": "+385911234567", "to": "+385991234567", "text": text}
    return sent | ({"keyword": word} if word else {}) | more


def test_evaluate_inbound_takes_the_first_keyword_in_any_case() -> None:
    doc = evaluate({"name": "a", "keyword": "yes"}, {"name": "b", "keyword": "YES"})
    step = Journey(doc).enter(**message("Yes please"))
    assert visited(step) == ["inb", "a"]
    assert traces(step, "branch") == [("inb", "branch", "'a' matched: keyword 'YES'")]
    # the first word only, whole: "yesterday" is not "yes"
    assert visited(Journey(doc).enter(**message("yesterday yes"))) == ["inb", "rest"]
    # without a keyword property, the first word of the text
    assert visited(Journey(doc).enter(text="  yes!  ", channel="sms")) == ["inb", "rest"]
    assert visited(Journey(doc).enter(text="  YeS ok", channel="sms")) == ["inb", "a"]


CODE = r"\b\d{4}\b"


def test_evaluate_inbound_searches_a_regex_and_assigns_text_and_sender() -> None:
    doc = evaluate(
        {"name": "stop", "keyword": "STOP"},
        {"name": "code", "regex": CODE},
        text="reply",
        sender="sender",
    )
    step = Journey(doc).enter(**message("my code is 1234, thanks"))
    assert visited(step) == ["inb", "code"]
    assert traces(step, "branch") == [
        ("inb", "branch", f"'code' matched: regex {CODE!r} found '1234'")
    ]
    assert step.state.variables == {"reply": "my code is 1234, thanks", "sender": "+385911234567"}
    step = Journey(doc).enter(**message("hello there"))
    assert visited(step) == ["inb", "rest"]
    assert traces(step, "branch") == [
        ("inb", "branch", "no branch matched 'hello there': otherwise")
    ]
    assert step.state.variables["reply"] == "hello there"


def test_a_regex_searches_only_the_start_of_a_long_text() -> None:
    doc = evaluate({"name": "end", "regex": "END$"})
    assert visited(Journey(doc).enter(**message("x" * 100 + "END"))) == ["inb", "end"]
    assert visited(Journey(doc).enter(**message("x" * 2000 + "END"))) == ["inb", "rest"]


def test_without_a_message_evaluate_inbound_takes_otherwise() -> None:
    doc = evaluate({"name": "a", "keyword": "YES"}, text="reply")
    doc["entry"] = {"type": "api"}
    step = Journey(doc).enter()
    assert visited(step) == ["inb", "rest"]
    assert traces(step, "branch") == [
        ("inb", "branch", "no inbound message brought the person in: otherwise")
    ]
    assert step.state.variables == {"reply": None, "sender": None}


def test_a_refused_regex_never_matches_and_is_a_compile_problem() -> None:
    doc = evaluate({"name": "bad", "regex": "(a)\\1"}, {"name": "ok", "regex": "a"})
    program = compiled(doc)
    assert [p.split(":")[0] for p in program.problems] == ["inb.branches.0.regex"]
    assert visited(Journey(program).enter(**message("aaaa"))) == ["inb", "ok"]
