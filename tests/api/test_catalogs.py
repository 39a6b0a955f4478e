"""/catalogs and /catalogs/{id}/items: CRUD, typed values, per-item and per-row answers,
CSV upload, limits, and what flows see of catalogs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tidings.api.routes import catalogs as routes

PRODUCTS: dict[str, Any] = {
    "name": "products",
    "columns": [
        {"name": "title", "type": "text"},
        {"name": "price", "type": "decimal"},
        {"name": "stock", "type": "integer"},
    ],
}


def catalog(api: Api, body: dict[str, Any] | None = None) -> int:
    answer = api.post("/catalogs", json=body or PRODUCTS)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def fields(answer: Any) -> list[str]:
    return [d["field"] for d in answer.json()["error"]["details"]]


def csv(api: Api, catalog_id: int, text: str, **headers: str) -> Any:
    return api.post(
        f"/catalogs/{catalog_id}/items/csv",
        content=text.encode(),
        headers={"Content-Type": "text/csv", **headers},
    )


# --- catalogs ----------------------------------------------------------------------------


def test_create_read_list_update_delete(api: Api) -> None:
    created = api.post("/catalogs", json=PRODUCTS)
    assert created.status_code == 201, created.text
    products = created.json()
    assert products["name"] == "products"
    assert products["keyColumn"] == "id"
    assert products["columns"] == PRODUCTS["columns"]
    assert products["itemCount"] == 0
    assert api.get(f"/catalogs/{products['id']}").json() == products
    catalog(api, {"name": "stores", "columns": [{"name": "city", "type": "text"}]})

    page = api.get("/catalogs", params={"limit": 1}).json()
    assert [c["name"] for c in page["items"]] == ["products"]
    assert page["hasMore"] is True
    page = api.get("/catalogs", params={"limit": 1, "offset": 1}).json()
    assert [c["name"] for c in page["items"]] == ["stores"]
    assert page["hasMore"] is False

    patched = api.patch(
        f"/catalogs/{products['id']}",
        json={
            "name": "shoes",
            "columns": [{"name": "price", "type": "decimal"}, {"name": "sale", "type": "boolean"}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "shoes"
    assert [c["name"] for c in patched.json()["columns"]] == ["title", "price", "stock", "sale"]

    assert api.delete(f"/catalogs/{products['id']}").status_code == 204
    assert api.get(f"/catalogs/{products['id']}").status_code == 404
    assert api.delete(f"/catalogs/{products['id']}").status_code == 404
    assert api.patch(f"/catalogs/{products['id']}", json={"name": "x"}).status_code == 404
    assert [c["name"] for c in api.get("/catalogs").json()["items"]] == ["stores"]


def test_names_are_unique_and_column_types_never_change(api: Api) -> None:
    first = catalog(api)
    assert api.post("/catalogs", json=PRODUCTS).status_code == 409
    second = catalog(api, {"name": "other"})
    assert api.patch(f"/catalogs/{second}", json={"name": "products"}).status_code == 409
    retyped = api.patch(f"/catalogs/{first}", json={"columns": [{"name": "price", "type": "text"}]})
    assert retyped.status_code == 409
    assert "price" in retyped.json()["error"]["message"]
    assert api.get(f"/catalogs/{first}").json()["columns"] == PRODUCTS["columns"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "2 products"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": "p", "columns": [{"name": "id", "type": "text"}]}, "columns.0.name"),
        ({"name": "p", "columns": [{"name": "a-b", "type": "text"}]}, "columns.0.name"),
        ({"name": "p", "columns": [{"name": "a", "type": "money"}]}, "columns.0.type"),
        ({"name": "p", "columns": [{"name": "a"}]}, "columns.0.type"),
        (
            {
                "name": "p",
                "columns": [{"name": "a", "type": "text"}, {"name": "a", "type": "text"}],
            },
            "columns.1.name",
        ),
        (
            {"name": "p", "columns": [{"name": f"c{i}", "type": "text"} for i in range(101)]},
            "columns",
        ),
        ({"name": "p", "colour": "red"}, "colour"),
        ({}, "name"),
    ],
)
def test_bad_catalogs_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    answer = api.post("/catalogs", json=body)
    assert answer.status_code == 422, answer.text
    assert field in fields(answer)
    assert api.get("/catalogs").json()["items"] == []


def test_bad_updates_and_ids_are_refused_naming_the_field(api: Api) -> None:
    products = catalog(api)
    bad_name = api.patch(f"/catalogs/{products}", json={"name": "no spaces"})
    assert (bad_name.status_code, fields(bad_name)) == (422, ["name"])
    bad_column = api.patch(
        f"/catalogs/{products}", json={"columns": [{"name": "id", "type": "text"}]}
    )
    assert (bad_column.status_code, fields(bad_column)) == (422, ["columns.0.name"])
    too_many = [{"name": f"c{i}", "type": "text"} for i in range(98)]
    over = api.patch(f"/catalogs/{products}", json={"columns": too_many})
    assert (over.status_code, fields(over)) == (422, ["columns"])
    for path in ("/catalogs/0", "/catalogs/abc", f"/catalogs/{2**63}"):
        answer = api.get(path)
        assert (answer.status_code, fields(answer)) == (422, ["catalog_id"]), path
    assert api.get("/catalogs/999999999").status_code == 404
    assert len(api.get(f"/catalogs/{products}").json()["columns"]) == 3


# --- items -------------------------------------------------------------------------------


def test_put_read_list_and_delete_items(api: Api) -> None:
    products = catalog(api)
    created = api.put(
        f"/catalogs/{products}/items/A-1",
        json={"values": {"title": "Boots", "price": "80.5", "stock": 3}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "A-1"
    assert created.json()["values"] == {"title": "Boots", "price": 80.5, "stock": 3}
    assert api.get(f"/catalogs/{products}/items/A-1").json() == created.json()

    replaced = api.put(f"/catalogs/{products}/items/A-1", json={"values": {"title": "Boots II"}})
    assert replaced.status_code == 200
    assert replaced.json()["values"] == {"title": "Boots II"}  # a write replaces the item

    api.put(f"/catalogs/{products}/items/shoes%2Fred", json={"values": {"title": "Red"}})
    assert api.get(f"/catalogs/{products}/items/shoes%2Fred").json()["values"] == {"title": "Red"}
    for key in ("C-3", "B-2"):
        api.put(f"/catalogs/{products}/items/{key}", json={"values": {}})
    assert api.get(f"/catalogs/{products}").json()["itemCount"] == 4

    page = api.get(f"/catalogs/{products}/items", params={"limit": 2}).json()
    assert [i["id"] for i in page["items"]] == ["A-1", "B-2"]
    assert page["hasMore"] is True
    after = api.get(f"/catalogs/{products}/items", params={"after": "B-2"}).json()
    assert [i["id"] for i in after["items"]] == ["C-3", "shoes/red"]

    assert api.delete(f"/catalogs/{products}/items/A-1").status_code == 204
    assert api.get(f"/catalogs/{products}/items/A-1").status_code == 404
    assert api.delete(f"/catalogs/{products}/items/A-1").status_code == 404
    assert api.get("/catalogs/999999999/items").status_code == 404
    assert api.put("/catalogs/999999999/items/A", json={"values": {}}).status_code == 404


def test_bad_item_writes_are_refused_naming_the_field(api: Api) -> None:
    products = catalog(api)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("A-1", {"values": {"price": "lots"}}, "values.price"),
        ("A-1", {"values": {"stock": 2.5}}, "values.stock"),
        ("A-1", {"values": {"title": 5}}, "values.title"),
        ("A-1", {"values": {"colour": "red"}}, "values.colour"),
        ("A-1", {"values": {"title": "x" * 4097}}, "values.title"),
        ("A-1", {"values": {}, "extra": 1}, "extra"),
        ("A-1", {"values": []}, "values"),
        ("%20A-1", {"values": {}}, "key"),
        ("x" * 257, {"values": {}}, "key"),
        ("A%00", {"values": {}}, "key"),
    ]
    for key, body, field in cases:
        answer = api.put(f"/catalogs/{products}/items/{key}", json=body)
        assert answer.status_code == 422, (key, body, answer.text)
        assert field in fields(answer), (key, body, answer.text)
    assert api.get(f"/catalogs/{products}/items").json()["items"] == []
    bad_after = api.get(f"/catalogs/{products}/items", params={"after": "a\x00"})
    assert (bad_after.status_code, fields(bad_after)) == (422, ["after"])


def test_many_items_are_answered_one_by_one_and_good_ones_kept(api: Api) -> None:
    products = catalog(api)
    api.put(f"/catalogs/{products}/items/old", json={"values": {"title": "Old"}})
    answer = api.post(
        f"/catalogs/{products}/items",
        json=[
            {"id": "A-1", "values": {"title": "Boots", "price": 80}},
            {"id": "A-2", "values": {"price": "lots"}},
            {"id": "old", "values": {"title": "Renewed"}},
            {"values": {"title": "No key"}},
            {"id": " A-3", "values": {}},
            "not an item",
            {"id": "A-1", "values": {"title": "Boots, again"}},
        ],
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["status"] for i in items] == [
        "accepted",
        "refused",
        "accepted",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]
    assert [(i["id"], i["created"]) for i in items if i["status"] == "accepted"] == [
        ("A-1", True),
        ("old", False),
        ("A-1", False),
    ]
    assert [d["field"] for d in items[1]["error"]["details"]] == ["values.price"]
    assert [d["field"] for d in items[3]["error"]["details"]] == ["id"]
    assert [d["field"] for d in items[4]["error"]["details"]] == ["id"]
    stored = api.get(f"/catalogs/{products}/items").json()["items"]
    assert {i["id"]: i["values"] for i in stored} == {
        "A-1": {"title": "Boots, again"},
        "old": {"title": "Renewed"},
    }


def test_one_item_is_answered_like_many_and_refused_whole(api: Api) -> None:
    products = catalog(api)
    one = api.post(f"/catalogs/{products}/items", json={"id": "A-1", "values": {"stock": 1}})
    assert one.status_code == 200, one.text
    assert one.json() == {"items": [{"status": "accepted", "id": "A-1", "created": True}]}
    bad = api.post(f"/catalogs/{products}/items", json={"id": "A-2", "values": {"stock": "x"}})
    assert (bad.status_code, fields(bad)) == (422, ["values.stock"])


def test_bodies_that_are_not_item_requests_are_refused_whole(api: Api) -> None:
    products = catalog(api)
    path = f"/catalogs/{products}/items"
    not_json = api.post(path, content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    for body in ([], 5, [{"id": str(i)} for i in range(routes.MAX_ITEMS + 1)]):
        answer = api.post(path, json=body)
        assert (answer.status_code, fields(answer)) == (422, ["body"])
    big = [{"id": f"k{i}", "values": {"title": "x" * 1000}} for i in range(1100)]
    assert api.post(path, json=big).status_code == 413
    assert api.get(f"/catalogs/{products}").json()["itemCount"] == 0


# --- CSV ---------------------------------------------------------------------------------


def test_a_csv_upload_imports_good_rows_and_reports_bad_ones(api: Api) -> None:
    products = catalog(api)
    api.put(f"/catalogs/{products}/items/A-2", json={"values": {"title": "Old hat"}})
    answer = csv(
        api,
        products,
        "id,title,price,stock\n"
        'A-1,"Boots, red",80.5,3\n'
        "A-2,Hat,,\n"
        "A-3,Scarf,cheap,1\n"
        "A-4,Gloves\n"
        ",Nameless,1,1\n"
        "A-5,Socks,2.5,10\n",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "imported": 3,
        "created": 2,
        "updated": 1,
        "refused": 3,
        "errors": [
            {"row": 4, "column": "price", "message": "must be a number"},
            {"row": 5, "column": None, "message": "has 2 cells; the header has 4"},
            {"row": 6, "column": "id", "message": "must be 1 to 256 characters"},
        ],
    }
    stored = api.get(f"/catalogs/{products}/items").json()["items"]
    assert {i["id"]: i["values"] for i in stored} == {
        "A-1": {"title": "Boots, red", "price": 80.5, "stock": 3},
        "A-2": {"title": "Hat"},
        "A-5": {"title": "Socks", "price": 2.5, "stock": 10},
    }


def test_a_csv_whose_header_does_not_fit_is_refused_whole(api: Api) -> None:
    products = catalog(api)
    for header, field in [
        ("sku,title,price,stock", "header.0"),
        ("title,price,stock", "header"),
        ("id,title,price", "header"),
        ("id,title,price,stock,colour", "header.4"),
    ]:
        answer = csv(api, products, header + "\nA-1,Boots,1,1\n")
        assert answer.status_code == 422, answer.text
        assert field in fields(answer), (header, answer.text)
    for body, field in [("", "header"), ('id,title,price,stock\n"A"x,,,\n', "body")]:
        answer = csv(api, products, body)
        assert (answer.status_code, fields(answer)) == (422, [field]), answer.text
    not_utf8 = api.post(
        f"/catalogs/{products}/items/csv",
        content="id,title,price,stock\nA,Café,1,1\n".encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    )
    assert (not_utf8.status_code, fields(not_utf8)) == (422, ["body"])
    assert api.get(f"/catalogs/{products}").json()["itemCount"] == 0


def test_csv_limits_and_content_type(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    products = catalog(api, {"name": "keys"})
    json_body = api.post(f"/catalogs/{products}/items/csv", json={"id": "A"})
    assert (json_body.status_code, fields(json_body)) == (415, ["body"])
    # Bigger than the 1 MB of other requests is fine for a CSV file...
    rows = "".join(f"{i:020d}\n" for i in range(55_000))
    assert len(rows) > 1_048_576
    answer = csv(api, products, "id\n" + rows)
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 55_000
    assert api.get(f"/catalogs/{products}").json()["itemCount"] == 55_000
    # ...up to its own limits: rows, then bytes.
    monkeypatch.setattr(routes, "MAX_CSV_ROWS", 2)
    too_many = csv(api, products, "id\nA\nB\nC\n")
    assert too_many.status_code == 413
    assert "at most 2 rows" in too_many.json()["error"]["message"]
    too_big = csv(api, products, "id\n" + "x" * routes.MAX_CSV_BYTES)
    assert too_big.status_code == 413
    assert api.get(f"/catalogs/{products}/items/A").status_code == 404


def test_csv_cells_follow_the_column_types(api: Api) -> None:
    typed = catalog(
        api,
        {
            "name": "typed",
            "columns": [
                {"name": "sale", "type": "boolean"},
                {"name": "since", "type": "date"},
                {"name": "at", "type": "datetime"},
                {"name": "tags", "type": "list"},
                {"name": "n", "type": "integer"},
            ],
        },
    )
    answer = csv(
        api,
        typed,
        "id,sale,since,at,tags,n\n"
        'A,yes,2026-01-31,2026-01-31T10:00:00+01:00,"[""a"", 1]",3.0\n'
        "B,maybe,31.01.2026,2026-01-31T10:00,a;b,x\n",
    )
    assert answer.status_code == 200, answer.text
    assert [(e["row"], e["column"]) for e in answer.json()["errors"]] == [
        (3, "sale"),
        (3, "since"),
        (3, "at"),
        (3, "tags"),
        (3, "n"),
    ]
    item = api.get(f"/catalogs/{typed}/items/A").json()
    assert item["values"] == {
        "sale": True,
        "since": "2026-01-31",
        "at": "2026-01-31T09:00:00Z",
        "tags": ["a", 1],
        "n": 3,
    }


# --- catalogs and flows ------------------------------------------------------------------


def lookup_flow(catalog: str = "products", column: str = "title") -> dict[str, Any]:
    return {
        "name": "Lookup",
        "entry": {"type": "api"},
        "variables": [{"name": "sku", "type": "text"}, {"name": "title", "type": "text"}],
        "elements": [
            {
                "id": "cat",
                "type": "catalog_lookup",
                "catalog": catalog,
                "key": "sku",
                "assign": {"title": f"item.{column}"},
                "next": {"found": "yes"},
            },
            {"id": "yes", "type": "send_sms", "from": "Shop", "text": "{{ title }}"},
        ],
    }


def problems_of(api: Api, document: dict[str, Any]) -> list[dict[str, Any]]:
    flow = api.post("/flows", json=document)
    assert flow.status_code == 201, flow.text
    answer = api.post(f"/flows/{flow.json()['id']}/validate")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["problems"]
    return found


def test_flows_see_the_accounts_catalogs_and_columns(api: Api, other_api: Api) -> None:
    catalog(api)
    assert problems_of(api, lookup_flow()) == []
    assert problems_of(api, lookup_flow(column="id")) == []
    [unknown] = problems_of(api, lookup_flow(catalog="shoes"))
    assert (unknown["element"], unknown["field"]) == ("cat", "catalog")
    assert "there is no catalog 'shoes'" in unknown["message"]
    [column] = problems_of(api, lookup_flow(column="colour"))
    assert (column["element"], column["field"]) == ("cat", "assign.title")
    assert "unknown item column 'item.colour'" in column["message"]
    # Another account's catalog is not this account's.
    [elsewhere] = problems_of(other_api, lookup_flow())
    assert elsewhere["field"] == "catalog"


def test_a_catalog_in_use_by_a_running_flow_keeps_its_name(api: Api) -> None:
    products = catalog(api)
    flow = api.post("/flows", json=lookup_flow()).json()
    assert api.post(f"/flows/{flow['id']}/launch").status_code == 200
    renamed = api.patch(f"/catalogs/{products}", json={"name": "shoes"})
    assert renamed.status_code == 409
    assert f"{flow['id']} (Lookup)" in renamed.json()["error"]["message"]
    assert api.delete(f"/catalogs/{products}").status_code == 409
    added = api.patch(f"/catalogs/{products}", json={"columns": [{"name": "new", "type": "text"}]})
    assert added.status_code == 200  # adding a column breaks nothing
    assert api.post(f"/flows/{flow['id']}/cancel").status_code == 200
    assert api.patch(f"/catalogs/{products}", json={"name": "shoes"}).status_code == 200
    assert api.delete(f"/catalogs/{products}").status_code == 204


def test_other_accounts_see_none_of_it(api: Api, other_api: Api) -> None:
    products = catalog(api)
    api.put(f"/catalogs/{products}/items/A-1", json={"values": {"title": "Boots"}})
    assert other_api.get("/catalogs").json()["items"] == []
    assert other_api.get(f"/catalogs/{products}/items").status_code == 404
    assert other_api.get(f"/catalogs/{products}/items/A-1").status_code == 404
    again = other_api.post("/catalogs", json=PRODUCTS)  # the same name in another account
    assert again.status_code == 201
    assert other_api.get(f"/catalogs/{again.json()['id']}").json()["itemCount"] == 0
