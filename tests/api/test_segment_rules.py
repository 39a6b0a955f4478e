"""Segment rules evaluated by the database, on both backends: every operator on standard and
custom attributes, tags, companies, boolean logic, and event history against the clock.

Each rule is evaluated three ways (preview, stored segment's members, its count), and the
three must agree.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Api, new_account
from tests.support.seed import add_events, add_people, declare_attributes
from tidings.bootstrap import Tidings
from tidings.clock import VirtualClock

_names = itertools.count()

ATTRIBUTES = {
    "loyaltyPoints": "integer",
    "spend": "decimal",
    "newsletter": "boolean",
    "signupDate": "date",
    "lastSeen": "datetime",
    "interests": "list",
    "plan": "text",
}
PEOPLE: list[dict[str, Any]] = [
    {
        "externalId": "ana",
        "firstName": "Ana",
        "lastName": "Kovač",
        "country": "HR",
        "city": "Zagreb",
        "gender": "female",
        "birthDate": "1990-04-30",
        "timezone": "Europe/Zagreb",
        "preferredLanguage": "hr",
        "attributes": {
            "loyaltyPoints": 120,
            "spend": 99.5,
            "newsletter": True,
            "signupDate": "2025-12-01",
            "lastSeen": "2026-01-04T10:00:00Z",
            "interests": ["shoes", "bags", 7],
            "plan": "gold",
        },
        "tags": ["vip"],
        "companies": ["Acme"],
    },
    {
        "externalId": "ben",
        "firstName": "Ben",
        "country": "DE",
        "city": "Berlin",
        "gender": "male",
        "birthDate": "1985-01-02",
        "preferredLanguage": "de",
        "attributes": {
            "loyaltyPoints": 40,
            "spend": 10,
            "newsletter": False,
            "signupDate": "2026-01-02",
            "lastSeen": "2026-01-04T10:00:00.500Z",
            "interests": ["books"],
            "plan": "silver",
        },
        "tags": ["vip", "churned"],
        "companies": ["Globex"],
    },
    # A value of the wrong type (written before a retype, say) counts as absent.
    {
        "externalId": "cid",
        "country": "HR",
        "city": "Split",
        "attributes": {"plan": "Gold", "loyaltyPoints": "lots", "interests": "shoes"},
        "companies": ["Acme", "Globex"],
    },
    {"externalId": "dan"},
]
EVERYONE = {"ana", "ben", "cid", "dan"}


def evaluate(api: Api, rule: dict[str, Any]) -> set[str]:
    """The externalIds a rule selects; preview, members and count must agree."""
    preview = api.post("/segments/preview", json={"rule": rule})
    assert preview.status_code == 200, preview.text
    created = api.post("/segments", json={"name": f"segment {next(_names)}", "rule": rule})
    assert created.status_code == 201, created.text
    segment = created.json()["id"]
    members = api.get(f"/segments/{segment}/members", params={"limit": 1000})
    assert members.status_code == 200, members.text
    count = api.get(f"/segments/{segment}/count").json()["count"]
    found = [m["externalId"] for m in members.json()["items"]]
    assert count == len(found) == preview.json()["count"]
    return set(found)


@pytest.fixture(scope="module")
def population(system: Tidings, http: TestClient) -> Api:
    """One account with the people above, shared by the read-only cases of this module."""
    api = new_account(system, http)
    declare_attributes(system, api.account_id, ATTRIBUTES)
    add_people(system, api.account_id, PEOPLE)
    return api


def attr(name: str, op: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"attribute": name, "op": op}
    if value is not None:
        out["value"] = value
    return out


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # standard attributes: columns
    ("country eq", attr("country", "eq", "HR"), {"ana", "cid"}),
    ("country eq, normalized", attr("country", "eq", "hr"), {"ana", "cid"}),
    ("ne includes the absent", attr("country", "ne", "HR"), {"ben", "dan"}),
    ("country in", attr("country", "in", ["DE", "fr"]), {"ben"}),
    ("exists", attr("country", "exists"), {"ana", "ben", "cid"}),
    ("notExists", attr("country", "notExists"), {"dan"}),
    ("contains", attr("city", "contains", "agr"), {"ana"}),
    ("contains is case-sensitive", attr("city", "contains", "AGR"), set()),
    ("startsWith", attr("city", "startsWith", "Spl"), {"cid"}),
    ("startsWith is case-sensitive", attr("city", "startsWith", "spl"), set()),
    ("firstName", attr("firstName", "eq", "Ana"), {"ana"}),
    ("non-ASCII text", attr("lastName", "eq", "Kovač"), {"ana"}),
    ("externalId in", attr("externalId", "in", ["ana", "dan", "zed"]), {"ana", "dan"}),
    ("birthDate lt", attr("birthDate", "lt", "1989-01-01"), {"ben"}),
    ("birthDate gte", attr("birthDate", "gte", "1989-01-01"), {"ana"}),
    ("gender, normalized", attr("gender", "eq", "FEMALE"), {"ana"}),
    ("timezone", attr("timezone", "eq", "Europe/Zagreb"), {"ana"}),
    ("language in", attr("preferredLanguage", "in", ["hr", "de"]), {"ana", "ben"}),
    # custom integer (cid holds a text: absent)
    ("integer gt", attr("loyaltyPoints", "gt", 100), {"ana"}),
    ("integer gte", attr("loyaltyPoints", "gte", 40), {"ana", "ben"}),
    ("integer lt", attr("loyaltyPoints", "lt", 100), {"ben"}),
    ("integer lte", attr("loyaltyPoints", "lte", 40), {"ben"}),
    ("integer eq", attr("loyaltyPoints", "eq", 120), {"ana"}),
    ("integer ne", attr("loyaltyPoints", "ne", 120), {"ben", "cid", "dan"}),
    ("integer in", attr("loyaltyPoints", "in", [40, 7]), {"ben"}),
    ("wrong type is absent", attr("loyaltyPoints", "exists"), {"ana", "ben"}),
    ("integer notExists", attr("loyaltyPoints", "notExists"), {"cid", "dan"}),
    # custom decimal
    ("decimal gt", attr("spend", "gt", 10), {"ana"}),
    ("decimal eq whole", attr("spend", "eq", 10), {"ben"}),
    ("decimal gte", attr("spend", "gte", 10.0), {"ana", "ben"}),
    ("decimal lt", attr("spend", "lt", 99.5), {"ben"}),
    ("decimal from text", attr("spend", "lte", "99.5"), {"ana", "ben"}),
    # custom boolean
    ("boolean true", attr("newsletter", "eq", True), {"ana"}),
    ("boolean false", attr("newsletter", "eq", False), {"ben"}),
    ("boolean ne", attr("newsletter", "ne", True), {"ben", "cid", "dan"}),
    ("boolean exists", attr("newsletter", "exists"), {"ana", "ben"}),
    # custom date and datetime: canonical texts, instants ordered to the millisecond
    ("date gt", attr("signupDate", "gt", "2025-12-31"), {"ben"}),
    ("date in", attr("signupDate", "in", ["2025-12-01"]), {"ana"}),
    ("datetime gt", attr("lastSeen", "gt", "2026-01-04T10:00:00Z"), {"ben"}),
    ("datetime lte", attr("lastSeen", "lte", "2026-01-04T10:00:00Z"), {"ana"}),
    ("datetime eq offset", attr("lastSeen", "eq", "2026-01-04T12:00:00+02:00"), {"ana"}),
    ("datetime ms", attr("lastSeen", "lt", "2026-01-04T10:00:00.600Z"), {"ana", "ben"}),
    # custom list
    ("list contains text", attr("interests", "contains", "shoes"), {"ana"}),
    ("list contains number", attr("interests", "contains", 7), {"ana"}),
    ("list item types differ", attr("interests", "contains", "7"), set()),
    ("list exists", attr("interests", "exists"), {"ana", "ben"}),
    # custom text
    ("text eq is exact", attr("plan", "eq", "gold"), {"ana"}),
    ("text in", attr("plan", "in", ["gold", "silver"]), {"ana", "ben"}),
    ("text contains", attr("plan", "contains", "old"), {"ana", "cid"}),
    ("text startsWith", attr("plan", "startsWith", "G"), {"cid"}),
    # tags, companies, logic
    ("tag", {"tag": "vip"}, {"ana", "ben"}),
    ("unknown tag", {"tag": "nope"}, set()),
    ("not tag", {"not": {"tag": "vip"}}, {"cid", "dan"}),
    ("company", {"company": "Acme"}, {"ana", "cid"}),
    ("all", {"all": [{"company": "Acme"}, {"company": "Globex"}]}, {"cid"}),
    ("any", {"any": [attr("country", "eq", "DE"), {"tag": "churned"}]}, {"ben"}),
    ("any of two", {"any": [{"tag": "churned"}, {"company": "Acme"}]}, {"ana", "ben", "cid"}),
    ("empty all is everyone", {"all": []}, EVERYONE),
    ("not is a complement", {"not": attr("country", "eq", "HR")}, {"ben", "dan"}),
    ("not not", {"not": {"not": attr("country", "eq", "HR")}}, {"ana", "cid"}),
    ("not over absent", {"not": attr("loyaltyPoints", "gt", 100)}, {"ben", "cid", "dan"}),
    ("not ne", {"not": attr("newsletter", "ne", True)}, {"ana"}),
    ("nested", {"all": [{"tag": "vip"}, {"not": attr("newsletter", "eq", True)}]}, {"ben"}),
]


@pytest.mark.parametrize(("rule", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_attribute_tag_company_and_logic(
    population: Api, rule: dict[str, Any], expected: set[str]
) -> None:
    assert evaluate(population, rule) == expected


def test_no_custom_attributes_stored_as_null_match_as_an_empty_object_does(
    system: Tidings, api: Api
) -> None:
    """A person without custom attributes has NULL in the store; rows written before hold
    `{}`. Every rule treats the two alike: each key is absent."""
    declare_attributes(system, api.account_id, ATTRIBUTES)
    ids = add_people(system, api.account_id, [{"externalId": "none"}, {"externalId": "empty"}])
    empty = "'{}'::jsonb" if system.db.dialect == "postgresql" else "'{}'"
    sql = f"UPDATE people SET attributes = {empty} WHERE id = {int(ids['empty'])}"
    system.db.write(lambda conn: conn.exec_driver_sql(sql))
    with system.db.read() as conn:
        stored = dict(
            conn.exec_driver_sql(
                "SELECT external_id, attributes FROM people "
                f"WHERE account_id = {int(api.account_id)}"
            ).all()
        )
    assert stored["none"] is None
    assert stored["empty"] is not None
    matched = {name: evaluate(api, rule) for name, rule, _ in CASES}
    assert all(found in (set(), {"none", "empty"}) for found in matched.values()), matched
    assert matched["integer notExists"] == matched["integer ne"] == {"none", "empty"}
    assert matched["not over absent"] == matched["boolean ne"] == {"none", "empty"}
    assert matched["list exists"] == matched["integer eq"] == set()
    assert evaluate(api, {"not": attr("interests", "exists")}) == {"none", "empty"}


@pytest.fixture
def shop(system: Tidings, api: Api) -> Api:
    definition = {"amount": "decimal", "sku": "text", "items": "list"}
    answer = api.post(
        "/event-definitions", json={"name": "PurchaseFinished", "properties": definition}
    )
    assert answer.status_code == 201
    ids = add_people(system, api.account_id, [{"externalId": x} for x in sorted(EVERYONE)])
    now = system.clock.now()
    day = timedelta(days=1)
    add_events(
        system,
        api.account_id,
        [
            (
                ids["ana"],
                "PurchaseFinished",
                {"amount": 50, "sku": "A1", "items": ["shoes"]},
                now - day,
            ),
            (ids["ana"], "PurchaseFinished", {"amount": 5, "sku": "B2"}, now - 10 * day),
            (ids["ana"], "PurchaseFinished", {"amount": 100, "sku": "A1"}, now - 40 * day),
            (ids["ben"], "PurchaseFinished", {"amount": 20, "sku": "C3"}, now - 2 * day),
            (ids["cid"], "message.clicked", {"channel": "sms", "flow": 3}, now - day / 24),
        ],
    )
    return api


def did(count: tuple[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"event": "PurchaseFinished", **extra}
    if count is not None:
        out["count"] = {"op": count[0], "value": count[1]}
    return out


EVENT_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("did", did(), {"ana", "ben"}),
    ("at least twice", did(("gte", 2)), {"ana"}),
    ("twice in 30 days", did(("gte", 2), within="P30D"), {"ana"}),
    ("twice in 7 days", did(("gte", 2), within="P7D"), set()),
    ("in 7 days", did(within="P7D"), {"ana", "ben"}),
    ("in 36 hours", did(within="PT36H"), {"ana"}),
    ("did not", did(("eq", 0)), {"cid", "dan"}),
    ("not did", {"not": did()}, {"cid", "dan"}),
    ("did not in 30 days", did(("eq", 0), within="P30D"), {"cid", "dan"}),
    ("exactly once", did(("eq", 1)), {"ben"}),
    ("exactly three times", did(("eq", 3)), {"ana"}),
    ("fewer than twice", did(("lt", 2)), {"ben", "cid", "dan"}),
    ("at most once", did(("lte", 1)), {"ben", "cid", "dan"}),
    ("not three times", did(("ne", 3)), {"ben", "cid", "dan"}),
    ("more than twice", did(("gt", 2)), {"ana"}),
    ("more than zero", did(("gt", 0)), {"ana", "ben"}),
    ("at least zero", did(("gte", 0)), EVERYONE),
    ("fewer than zero", did(("lt", 0)), set()),
    ("at least four", did(("gte", 4)), set()),
    ("where", did(where=[{"property": "amount", "op": "gt", "value": 10}]), {"ana", "ben"}),
    (
        "where, twice",
        did(("gte", 2), where=[{"property": "amount", "op": "gt", "value": 10}]),
        {"ana"},
    ),
    (
        "where, twice, in 30 days",
        did(("gte", 2), within="P30D", where=[{"property": "amount", "op": "gt", "value": 10}]),
        set(),
    ),
    (
        "two wheres",
        did(
            ("eq", 2),
            where=[
                {"property": "amount", "op": "gte", "value": 50},
                {"property": "sku", "op": "eq", "value": "A1"},
            ],
        ),
        {"ana"},
    ),
    ("where text in", did(where=[{"property": "sku", "op": "in", "value": ["C3"]}]), {"ben"}),
    (
        "where list contains",
        did(where=[{"property": "items", "op": "contains", "value": "shoes"}]),
        {"ana"},
    ),
    (
        "where notExists",
        did(("gte", 2), where=[{"property": "items", "op": "notExists"}]),
        {"ana"},
    ),
    (
        "standard event",
        {
            "event": "message.clicked",
            "where": [{"property": "channel", "op": "eq", "value": "sms"}],
        },
        {"cid"},
    ),
    (
        "standard event, integer property",
        {"event": "message.clicked", "where": [{"property": "flow", "op": "eq", "value": 4}]},
        set(),
    ),
    (
        "event or event",
        {"any": [did(within="PT36H"), {"event": "message.clicked"}]},
        {"ana", "cid"},
    ),
]


@pytest.mark.parametrize(
    ("rule", "expected"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES]
)
def test_event_history(shop: Api, rule: dict[str, Any], expected: set[str]) -> None:
    assert evaluate(shop, rule) == expected


def test_within_is_measured_from_the_clock(system: Tidings, shop: Api) -> None:
    clock = system.clock
    assert isinstance(clock, VirtualClock)
    created = shop.post("/segments", json={"name": "recent buyers", "rule": did(within="P3D")})
    segment = created.json()["id"]

    def members() -> set[str]:
        items = shop.get(f"/segments/{segment}/members").json()["items"]
        assert shop.get(f"/segments/{segment}/count").json()["count"] == len(items)
        return {m["externalId"] for m in items}

    assert members() == {"ana", "ben"}
    clock.advance_by(timedelta(hours=36))  # ben's purchase is now 3.5 days old
    assert members() == {"ana"}
    clock.advance_by(timedelta(days=2))
    assert members() == set()
    assert evaluate(shop, did(("eq", 0), within="P3D")) == EVERYONE


_odd = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["2026-01-05", "2026-01-05T10:00:00.123+05:30", "HR", "shoes", ""]),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=3),
)
_attribute = st.builds(
    lambda name, op, value: {"attribute": name, "op": op, "value": value},
    st.sampled_from([*ATTRIBUTES, "country", "birthDate", "externalId", "unknown"]),
    st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains", "startsWith", "in"]),
    _odd,
)
_event = st.builds(
    lambda count, within, where: {
        "event": "message.clicked",
        "count": count,
        "within": within,
        "where": where,
    },
    st.fixed_dictionaries({"op": st.sampled_from(["eq", "lt", "gte"]), "value": st.integers(0, 3)}),
    st.sampled_from(["P1D", "PT1S", "P3660D"]),
    st.lists(
        st.builds(
            lambda p, op, v: {"property": p, "op": op, "value": v},
            st.sampled_from(["flow", "channel"]),
            st.sampled_from(["eq", "gt", "in", "contains"]),
            _odd,
        ),
        max_size=2,
    ),
)
_odd_rules = st.recursive(
    st.one_of(_attribute, _event, st.builds(lambda t: {"tag": t}, st.text(max_size=4))),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(rule=_odd_rules)
def test_no_rule_makes_a_server_error(population: Api, rule: dict[str, Any]) -> None:
    answer = population.post("/segments/preview", json={"rule": rule})
    assert answer.status_code in (200, 422), answer.text
