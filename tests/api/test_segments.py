"""/segments: CRUD, paging, bad input on every endpoint (nothing stored), conflicts, and
tenant isolation, on both databases. What rules select is in test_segment_rules.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.seed import add_events, add_people, declare_attributes
from tidings.bootstrap import Tidings
from tidings.store import definitions

RULE = {"all": [{"attribute": "country", "op": "eq", "value": "hr"}, {"tag": "vip"}]}


@pytest.fixture
def typed(system: Tidings, api: Api) -> Api:
    """An account with a few custom attributes and one custom event."""
    declare_attributes(
        system,
        api.account_id,
        {"points": "integer", "newsletter": "boolean", "signup": "date", "interests": "list"},
    )
    answer = api.post("/event-definitions", json={"name": "Bought", "properties": {"sku": "text"}})
    assert answer.status_code == 201
    return api


def names(api: Api) -> list[str]:
    answer = api.get("/segments", params={"limit": 1000})
    assert answer.status_code == 200
    return [s["name"] for s in answer.json()["items"]]


def test_create_read_list_update_delete(system: Tidings, api: Api) -> None:
    created = api.post("/segments", json={"name": " Croatian VIPs ", "rule": RULE})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["name"] == "Croatian VIPs"
    assert segment["description"] is None
    # The canonical rule: values in stored form.
    assert segment["rule"]["all"][0] == {"attribute": "country", "op": "eq", "value": "HR"}
    assert segment["createdAt"] == segment["updatedAt"]
    sid = segment["id"]

    assert api.get(f"/segments/{sid}").json() == segment
    assert names(api) == ["Croatian VIPs"]

    add_people(system, api.account_id, [{"externalId": "p1", "country": "HR", "tags": ["vip"]}])
    members = api.get(f"/segments/{sid}/members").json()
    assert members["hasMore"] is False
    assert [(m["externalId"], m["firstName"], m["lastName"]) for m in members["items"]] == [
        ("p1", None, None)
    ]
    assert set(members["items"][0]) == {"id", "externalId", "firstName", "lastName"}
    assert api.get(f"/segments/{sid}/count").json() == {"count": 1}

    patched = api.patch(f"/segments/{sid}", json={"description": "HR VIPs", "name": "VIP HR"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["description"]) == ("VIP HR", "HR VIPs")
    assert patched.json()["rule"] == segment["rule"]

    rule = {"event": "message.clicked"}
    patched = api.patch(f"/segments/{sid}", json={"rule": rule, "description": None})
    assert patched.json()["description"] is None
    assert patched.json()["rule"] == {
        "event": "message.clicked",
        "count": {"op": "gte", "value": 1},
    }
    assert api.get(f"/segments/{sid}/count").json() == {"count": 0}

    assert api.delete(f"/segments/{sid}").status_code == 204
    for path in (f"/segments/{sid}", f"/segments/{sid}/members", f"/segments/{sid}/count"):
        assert api.get(path).status_code == 404
    assert api.delete(f"/segments/{sid}").status_code == 404
    assert names(api) == []


def test_paging(system: Tidings, api: Api) -> None:
    for name in ("c", "a", "b"):
        assert api.post("/segments", json={"name": name, "rule": {"all": []}}).status_code == 201
    first = api.get("/segments", params={"limit": 2}).json()
    assert ([s["name"] for s in first["items"]], first["hasMore"]) == (["a", "b"], True)
    rest = api.get("/segments", params={"limit": 2, "offset": 2}).json()
    assert ([s["name"] for s in rest["items"]], rest["hasMore"]) == (["c"], False)

    add_people(system, api.account_id, [{"externalId": f"p{i}"} for i in range(5)])
    sid = api.get("/segments").json()["items"][0]["id"]
    page = api.get(f"/segments/{sid}/members", params={"limit": 2, "offset": 1}).json()
    assert [m["externalId"] for m in page["items"]] == ["p1", "p2"]
    assert page["hasMore"] is True
    last = api.get(f"/segments/{sid}/members", params={"limit": 2, "offset": 4}).json()
    assert ([m["externalId"] for m in last["items"]], last["hasMore"]) == (["p4"], False)


def test_duplicate_names_conflict(api: Api) -> None:
    first = api.post("/segments", json={"name": "Buyers", "rule": RULE}).json()
    again = api.post("/segments", json={"name": "Buyers", "rule": {"all": []}})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    other = api.post("/segments", json={"name": "Others", "rule": RULE}).json()
    assert api.patch(f"/segments/{other['id']}", json={"name": "Buyers"}).status_code == 409
    assert api.patch(f"/segments/{first['id']}", json={"name": "Buyers"}).status_code == 200
    assert sorted(names(api)) == ["Buyers", "Others"]


def leaf(**fields: Any) -> dict[str, Any]:
    return {"name": "bad", "rule": fields}


def nested(depth: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"tag": "vip"}
    for _ in range(depth):
        rule = {"not": rule}
    return rule


def tags(n: int) -> list[dict[str, str]]:
    return [{"tag": f"t{i}"} for i in range(n)]


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no name", {"rule": RULE}, "name"),
    ("empty name", {"name": "", "rule": RULE}, "name"),
    ("blank name", {"name": "   ", "rule": RULE}, "name"),
    ("long name", {"name": "x" * 256, "rule": RULE}, "name"),
    ("NUL in name", {"name": "a\x00b", "rule": RULE}, "name"),
    ("long description", {"name": "x", "description": "d" * 1001, "rule": RULE}, "description"),
    ("NUL in description", {"name": "x", "description": "\x00", "rule": RULE}, "description"),
    ("unknown field", {"name": "x", "rule": RULE, "colour": "red"}, "colour"),
    ("no rule", {"name": "x"}, "rule"),
    ("rule not an object", {"name": "x", "rule": 5}, "rule"),
    ("empty rule", leaf(), "rule"),
    ("two shapes", leaf(tag="a", company="b"), "rule"),
    ("unknown leaf field", leaf(tag="a", colour="red"), "rule.colour"),
    ("all not a list", {"name": "x", "rule": {"all": {"tag": "a"}}}, "rule.all"),
    ("empty any", {"name": "x", "rule": {"any": []}}, "rule.any"),
    ("bad item", {"name": "x", "rule": {"all": [{"tag": "a"}, "vip"]}}, "rule.all.1"),
    (
        "unknown op",
        {"name": "x", "rule": {"all": [{"tag": "a"}, {"attribute": "city", "op": "like"}]}},
        "rule.all.1.op",
    ),
    ("no op", leaf(attribute="city", value="Zagreb"), "rule.op"),
    ("op not for text", leaf(attribute="city", op="gt", value="A"), "rule.op"),
    ("op not for boolean", leaf(attribute="newsletter", op="gt", value=True), "rule.op"),
    ("op not for list", leaf(attribute="interests", op="eq", value="a"), "rule.op"),
    ("unknown attribute", leaf(attribute="shoeSize", op="eq", value=42), "rule.attribute"),
    ("attribute not text", leaf(attribute=5, op="eq", value=42), "rule.attribute"),
    ("text for integer", leaf(attribute="points", op="eq", value="lots"), "rule.value"),
    ("fraction for integer", leaf(attribute="points", op="gt", value=1.5), "rule.value"),
    ("huge integer", leaf(attribute="points", op="gt", value=2**64), "rule.value"),
    ("text for boolean", leaf(attribute="newsletter", op="eq", value="yes"), "rule.value"),
    ("bad date", leaf(attribute="signup", op="gt", value="tomorrow"), "rule.value"),
    ("bad birthDate", leaf(attribute="birthDate", op="lt", value="1990-13-01"), "rule.value"),
    ("bad country", leaf(attribute="country", op="eq", value="XX"), "rule.value"),
    ("number for text", leaf(attribute="city", op="eq", value=5), "rule.value"),
    ("NUL in value", leaf(attribute="city", op="contains", value="\x00"), "rule.value"),
    ("empty contains", leaf(attribute="city", op="contains", value=""), "rule.value"),
    ("boolean in a list", leaf(attribute="interests", op="contains", value=True), "rule.value"),
    ("in not a list", leaf(attribute="city", op="in", value="Zagreb"), "rule.value"),
    ("in empty", leaf(attribute="city", op="in", value=[]), "rule.value"),
    ("in bad item", leaf(attribute="points", op="in", value=[1, "x"]), "rule.value.1"),
    ("no value", leaf(attribute="city", op="eq"), "rule.value"),
    ("null value", leaf(attribute="city", op="eq", value=None), "rule.value"),
    ("exists with value", leaf(attribute="city", op="exists", value="x"), "rule.value"),
    ("empty tag", leaf(tag=""), "rule.tag"),
    ("tag not text", leaf(tag=5), "rule.tag"),
    ("company not text", leaf(company=["Acme"]), "rule.company"),
    ("unknown event", leaf(event="Nope"), "rule.event"),
    ("bad within", leaf(event="Bought", within="30 days"), "rule.within"),
    ("zero within", leaf(event="Bought", within="P0D"), "rule.within"),
    ("years within", leaf(event="Bought", within="P1Y"), "rule.within"),
    ("within not text", leaf(event="Bought", within=30), "rule.within"),
    ("count not object", leaf(event="Bought", count=3), "rule.count"),
    ("count op", leaf(event="Bought", count={"op": "about", "value": 1}), "rule.count.op"),
    ("count negative", leaf(event="Bought", count={"op": "gte", "value": -1}), "rule.count.value"),
    ("count boolean", leaf(event="Bought", count={"op": "gte", "value": True}), "rule.count.value"),
    ("where not list", leaf(event="Bought", where={"property": "sku"}), "rule.where"),
    (
        "where property",
        leaf(event="Bought", where=[{"property": "colour", "op": "eq", "value": "x"}]),
        "rule.where.0.property",
    ),
    (
        "where field",
        leaf(event="Bought", where=[{"property": "sku", "op": "eq", "value": "x", "colour": 1}]),
        "rule.where.0.colour",
    ),
    (
        "where value",
        leaf(event="Bought", where=[{"property": "sku", "op": "eq", "value": 5}]),
        "rule.where.0.value",
    ),
    ("too deep", {"name": "x", "rule": nested(11)}, "rule" + ".not" * 10),
    ("too many in a group", {"name": "x", "rule": {"all": tags(101)}}, "rule.all"),
    (
        "too many leaves",
        {"name": "x", "rule": {"any": [{"all": tags(60)}, {"all": tags(60)}]}},
        "rule",
    ),
]


@pytest.mark.parametrize(("body", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_names_the_field(typed: Api, body: dict[str, Any], field: str) -> None:
    answer = typed.post("/segments", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    assert field in [d["field"] for d in answer.json()["error"]["details"]], answer.text
    assert names(typed) == []
    if "rule" in body and field.startswith("rule"):
        preview = typed.post("/segments/preview", json={"rule": body["rule"]})
        assert preview.status_code == 422
        assert field in [d["field"] for d in preview.json()["error"]["details"]]


def test_limits_are_inclusive(typed: Api) -> None:
    assert typed.post("/segments", json={"name": "deep", "rule": nested(10)}).status_code == 201
    wide = {"any": [{"all": tags(50)}, {"all": tags(50)}]}
    assert typed.post("/segments", json={"name": "wide", "rule": wide}).status_code == 201


def test_malformed_json_is_400(api: Api) -> None:
    answer = api.post("/segments", content=b"{nope", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert names(api) == []


def test_bad_update_changes_nothing(typed: Api) -> None:
    segment = typed.post("/segments", json={"name": "s", "rule": RULE}).json()
    path = f"/segments/{segment['id']}"
    for body, field in [
        ({"rule": {"tag": ""}}, "rule.tag"),
        ({"name": None}, "name"),
        ({"rule": None}, "rule"),
        ({"name": " "}, "name"),
        ({"colour": "red"}, "colour"),
        ({"name": "new", "rule": {"attribute": "points", "op": "gt", "value": "x"}}, "rule.value"),
    ]:
        answer = typed.patch(path, json=body)
        assert answer.status_code == 422, answer.text
        assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert typed.get(path).json() == segment
    assert typed.patch("/segments/999999999", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "params", "field"),
    [
        ("GET", "/segments", {"limit": 0}, "limit"),
        ("GET", "/segments", {"offset": -1}, "offset"),
        ("GET", "/segments/abc", {}, "segment_id"),
        ("GET", "/segments/0", {}, "segment_id"),
        ("GET", f"/segments/{2**63}", {}, "segment_id"),
        ("DELETE", "/segments/abc", {}, "segment_id"),
        ("GET", "/segments/abc/count", {}, "segment_id"),
        ("GET", "/segments/1/members", {"limit": 1001}, "limit"),
    ],
)
def test_bad_paths_and_paging(
    api: Api, method: str, path: str, params: dict[str, Any], field: str
) -> None:
    answer = api.request(method, path, params=params)
    assert answer.status_code == 422, answer.text
    assert field in [d["field"] for d in answer.json()["error"]["details"]]


def test_preview_counts_without_storing(system: Tidings, api: Api) -> None:
    add_people(system, api.account_id, [{"externalId": "a", "country": "HR"}, {"externalId": "b"}])
    answer = api.post("/segments/preview", json={"rule": {"attribute": "country", "op": "exists"}})
    assert answer.json() == {"count": 1}
    assert api.post("/segments/preview", json={}).status_code == 422
    assert api.post("/segments/preview", json={"rule": RULE, "x": 1}).status_code == 422
    assert names(api) == []


def test_a_rule_whose_attribute_was_deleted_is_a_conflict(system: Tidings, typed: Api) -> None:
    rule = {"attribute": "points", "op": "gt", "value": 3}
    sid = typed.post("/segments", json={"name": "s", "rule": rule}).json()["id"]
    assert typed.get(f"/segments/{sid}/count").json() == {"count": 0}
    system.db.write(lambda conn: definitions.delete_attribute(conn, typed.account_id, "points"))
    for path in (f"/segments/{sid}/count", f"/segments/{sid}/members"):
        answer = typed.get(path)
        assert answer.status_code == 409, answer.text
        assert "points" in answer.json()["error"]["message"]
    assert typed.get(f"/segments/{sid}").status_code == 200
    fixed = typed.patch(f"/segments/{sid}", json={"rule": {"all": []}})
    assert fixed.status_code == 200
    assert typed.get(f"/segments/{sid}/count").status_code == 200


def test_other_accounts_see_nothing(system: Tidings, api: Api, other_api: Api) -> None:
    sid = api.post("/segments", json={"name": "mine", "rule": RULE}).json()["id"]
    for method, path in [
        ("GET", f"/segments/{sid}"),
        ("PATCH", f"/segments/{sid}"),
        ("DELETE", f"/segments/{sid}"),
        ("GET", f"/segments/{sid}/members"),
        ("GET", f"/segments/{sid}/count"),
    ]:
        kwargs: dict[str, Any] = {"json": {"name": "theirs"}} if method == "PATCH" else {}
        assert other_api.request(method, path, **kwargs).status_code == 404
    assert names(other_api) == []
    # The same name is free in another account.
    assert other_api.post("/segments", json={"name": "mine", "rule": RULE}).status_code == 201
    assert api.get(f"/segments/{sid}").json()["name"] == "mine"


def test_members_never_include_other_accounts_people(
    system: Tidings, api: Api, other_api: Api
) -> None:
    person = {"externalId": "ana", "country": "HR", "tags": ["vip"], "companies": ["Acme"]}
    mine = add_people(system, api.account_id, [person])
    theirs = add_people(system, other_api.account_id, [person, {**person, "externalId": "ben"}])
    for ids, who in ((mine, api), (theirs, other_api)):
        who.post("/event-definitions", json={"name": "Bought"})
        add_events(system, who.account_id, [(ids["ana"], "Bought", {}, system.clock.now())])
    add_events(system, other_api.account_id, [(theirs["ben"], "Bought", {}, system.clock.now())])
    rule = {
        "all": [RULE, {"company": "Acme"}, {"event": "Bought", "count": {"op": "eq", "value": 1}}]
    }
    sid = api.post("/segments", json={"name": "s", "rule": rule}).json()["id"]
    items = api.get(f"/segments/{sid}/members").json()["items"]
    assert [m["id"] for m in items] == [mine["ana"]]
    assert api.get(f"/segments/{sid}/count").json() == {"count": 1}
    assert other_api.post("/segments/preview", json={"rule": rule}).json() == {"count": 2}


def test_custom_attributes_and_events_belong_to_their_account(typed: Api, other_api: Api) -> None:
    for rule, field in [
        ({"attribute": "points", "op": "gt", "value": 1}, "rule.attribute"),
        ({"event": "Bought"}, "rule.event"),
    ]:
        answer = other_api.post("/segments", json={"name": "x", "rule": rule})
        assert answer.status_code == 422
        assert field in [d["field"] for d in answer.json()["error"]["details"]]
        assert typed.post("/segments/preview", json={"rule": rule}).status_code == 200
