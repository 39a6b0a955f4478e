"""canonical_json: export -> import -> export is the same bytes; load_text reads JSON
and YAML alike."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.errors import InvalidInput
from tidings.domain.flows import canonical_json, load_text, parse_document, with_exits

from .examples import ENTRIES, EVERY_ELEMENT, design_example

TEMPLATES = [
    {k: v for k, v in e.items() if k not in ("id", "next")} for e in EVERY_ELEMENT["elements"]
]
DURATIONS = ["PT1H", "P1D", "PT10S", "P7D", "PT90M"]
ZONES = ["Europe/Zagreb", "UTC", "America/New_York"]

# PyYAML folds the YAML line breaks NEL, LS and PS inside keys; JSON keeps everything else.
texts = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00\x85\u2028\u2029"),
    max_size=20,
)
ui = st.dictionaries(
    st.sampled_from(["x", "y", "w", "collapsed"]),
    st.floats(-1e15, 1e15, allow_nan=False) | st.integers(-(10**6), 10**6) | st.booleans(),
    max_size=3,
)


def optional(key: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), strategy.map(lambda v: {key: v}))


@st.composite
def elements(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 8))
    ids = [f"e{i}" for i in range(count)]
    out = []
    for element_id in ids:
        item = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
        item["id"] = element_id
        target = st.sampled_from([*ids, "missing"])
        item.update(draw(optional("next", target | st.dictionaries(texts, target, max_size=3))))
        item.update(draw(optional("name", texts)))
        item.update(draw(optional("ui", ui)))
        if item["type"] == "call_api":
            # Spelling a default out must not change the canonical text.
            item.update(draw(optional("retries", st.sampled_from([2, 0, 5]))))
            item.update(draw(optional("timeout", st.sampled_from(["PT10S", "PT5S"]))))
        out.append(item)
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    data.update(draw(optional("name", texts)))
    data.update(draw(optional("timezone", st.sampled_from(ZONES))))
    data.update(draw(optional("entry", st.sampled_from(list(ENTRIES.values())))))
    reentry: dict[str, Any] = {}
    reentry.update(draw(optional("enabled", st.booleans())))
    reentry.update(draw(optional("delay", st.sampled_from(DURATIONS))))
    limit = st.fixed_dictionaries({"max": st.integers(0, 5), "per": st.sampled_from(DURATIONS)})
    reentry.update(draw(optional("limits", st.lists(limit, max_size=2))))
    window = st.fixed_dictionaries(
        {"days": st.lists(st.sampled_from(["mon", "tue", "sat"]), max_size=3)},
        optional={
            "from": st.sampled_from(["00:00", "09:00", "20:00"]),
            "to": st.sampled_from(["20:00", "24:00"]),
            "timezone": st.sampled_from(["recipient", "flow", *ZONES]),
            "outside": st.sampled_from(["wait", "drop"]),
        },
    )
    schedule = st.fixed_dictionaries(
        {},
        optional={
            "start": st.none() | st.just("2026-01-05T09:00:00+01:00"),
            "end": st.none() | st.just("2027-01-01T00:00:00Z"),
        },
    )
    settings_ = st.fixed_dictionaries(
        {"reentry": st.just(reentry)},
        optional={
            "sendWindow": window,
            "schedule": schedule,
            "goal": st.just({"event": "PurchaseFinished", "value": "event.amount"}),
        },
    )
    data.update(draw(optional("settings", settings_)))
    variable = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["a", "b", "cartValue"]),
            "type": st.sampled_from(["text", "decimal", "list"]),
        },
        optional={"default": texts},
    )
    data.update(draw(optional("variables", st.lists(variable, max_size=3))))
    data["elements"] = draw(elements())
    data.update(draw(optional("ui", ui)))
    return data


@settings(max_examples=200, deadline=None)
@given(documents())
def test_export_import_export_is_byte_stable(data: dict[str, Any]) -> None:
    doc = parse_document(data)
    text = canonical_json(doc)
    again = parse_document(json.loads(text))
    assert again == doc
    assert canonical_json(again) == text
    assert text.endswith("}\n")


@settings(max_examples=100, deadline=None)
@given(documents())
def test_yaml_reads_as_json_does(data: dict[str, Any]) -> None:
    text = canonical_json(parse_document(data))
    as_yaml = yaml.safe_dump(json.loads(text), allow_unicode=True)
    assert canonical_json(load_text(as_yaml, "flow.yaml")) == text


@settings(max_examples=100, deadline=None)
@given(documents())
def test_exits_survive_the_round_trip(data: dict[str, Any]) -> None:
    doc = with_exits(parse_document(data))
    assert canonical_json(parse_document(json.loads(canonical_json(doc)))) == canonical_json(doc)


def test_defaults_are_left_out() -> None:
    data = design_example()
    data["settings"]["reentry"]["enabled"] = True
    data["settings"]["sendWindow"]["outside"] = "wait"
    data["elements"].append(
        {
            "id": "api",
            "type": "call_api",
            "timeout": "PT10S",
            "retries": 2,
            "method": "POST",
            "headers": {},
            "assign": {},
        }
    )
    text = canonical_json(parse_document(data))
    assert '"enabled"' not in text
    assert '"outside"' not in text
    assert '"schedule"' not in text
    assert '"retries"' not in text
    assert '"timeout": "PT10S"' not in text
    assert '"api",\n      "type": "call_api"' in text


def test_keys_sorted_two_space_indent_trailing_newline() -> None:
    text = canonical_json(parse_document(design_example()))
    assert text.startswith('{\n  "elements": [\n    {\n      "from": "ShopCo",')
    assert text.endswith("\n}\n")
    assert json.loads(text)["variables"] == [
        {"default": "0", "name": "cartValue", "type": "decimal"}
    ]


def test_unicode_is_kept_readable() -> None:
    data = design_example()
    data["name"] = "Košarica 🛒"
    assert '"name": "Košarica 🛒"' in canonical_json(parse_document(data))


YAML_FLOW = """
name: Cart abandonment
timezone: Europe/Zagreb
entry: {type: event, event: CartAbandoned, where: "event.cartValue > 50"}
settings:
  schedule: {start: 2026-01-05T09:00:00+01:00}
  sendWindow: {days: [mon, fri], from: 09:00, to: 20:00}
elements:
  - {id: sms1, type: send_sms, from: ShopCo, text: "Hi {{ person.firstName }}"}
  - {id: w, type: wait, at: 18:30}
"""


def test_yaml_times_and_instants_stay_texts() -> None:
    doc = load_text(YAML_FLOW, "cart.yml")
    assert doc.settings.schedule.start == "2026-01-05T09:00:00+01:00"
    assert doc.settings.send_window is not None
    assert (doc.settings.send_window.from_, doc.settings.send_window.to) == ("09:00", "20:00")
    wait = doc.elements[1]
    assert wait.type == "wait"
    assert wait.at == "18:30"


def test_json_by_suffix_or_by_trying() -> None:
    text = json.dumps(design_example())
    assert load_text(text, "cart.json") == load_text(text, "cart") == load_text(text, "x.yaml")


@pytest.mark.parametrize(
    ("text", "filename", "words"),
    [
        ('{"name": ', "cart.json", "not valid JSON: Expecting value at line 1 column 10"),
        ('{"name": NaN}', "cart.json", "NaN is not a JSON number"),
        ("name: [unclosed", "cart.yaml", "not valid YAML"),
        ("- just\n- a list", "cart.yaml", "must be a JSON object"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{k}: &{k} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, k in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "bomb.yaml",
            "too large",
        ),
    ],
)
def test_unreadable_text(text: str, filename: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_text(text, filename)
    assert words in caught.value.problems[0].message


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(InvalidInput, match="YAML"):
        load_text("name: !!python/object/apply:os.system ['true']", "evil.yaml")
