"""Catalogs and their items: create, read, list, update, delete; item upserts in batches
(driver `executemany`); `lookup` of many (catalog name, key) pairs at once for the
engine's `catalog_lookup`.

`catalogs.columns` holds the declared columns `[{"name", "type"}]` in order (the key
column `id` is implicit); `catalog_items.item_values` holds an item's non-null values.
Every query filters on `account_id`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.domain.catalogs import KEY_COLUMN, MAX_COLUMNS
from tidings.domain.durations import format_micros
from tidings.domain.errors import Conflict, InvalidInput, NotFound, Problem
from tidings.domain.lifecycle import RUNNING
from tidings.domain.values import ValueType
from tidings.store.dialect import binds_arrays, dialect_of_conn
from tidings.store.tables import catalog_items, catalogs, flow_versions

CHUNK = 500  # parameters of one IN list
BULK = 5000  # rows of one set-based statement (PostgreSQL arrays)
Column = tuple[str, ValueType]


def _columns(raw: Any) -> list[Column]:
    return [(c["name"], ValueType(c["type"])) for c in raw or ()]


def _catalog_row(row: Any, count: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "keyColumn": KEY_COLUMN,
        "columns": [{"name": n, "type": k.value} for n, k in _columns(row.columns)],
        "itemCount": count,
        "createdAt": format_micros(row.created_at),
        "updatedAt": format_micros(row.updated_at),
    }


def _item_count() -> Any:
    return (
        select(func.count())
        .where(
            catalog_items.c.account_id == catalogs.c.account_id,
            catalog_items.c.catalog_id == catalogs.c.id,
        )
        .scalar_subquery()
        .label("item_count")
    )


def _find(conn: Connection, account_id: int, catalog_id: int) -> Any:
    row = conn.execute(
        select(catalogs).where(catalogs.c.account_id == account_id, catalogs.c.id == catalog_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"catalog {catalog_id} does not exist")
    return row


def _name_taken(conn: Connection, account_id: int, name: str) -> bool:
    found = conn.execute(
        select(catalogs.c.id).where(catalogs.c.account_id == account_id, catalogs.c.name == name)
    ).first()
    return found is not None


# --- catalogs ----------------------------------------------------------------------------


def create_catalog(
    conn: Connection, account_id: int, *, name: str, columns: Sequence[Column], now: int
) -> dict[str, Any]:
    if _name_taken(conn, account_id, name):
        raise Conflict(f"catalog {name!r} already exists")
    catalog_id = conn.execute(
        insert(catalogs)
        .values(
            account_id=account_id,
            name=name,
            columns=[{"name": n, "type": k.value} for n, k in columns],
            created_at=now,
            updated_at=now,
        )
        .returning(catalogs.c.id)
    ).scalar_one()
    return read_catalog(conn, account_id, catalog_id)


def read_catalog(conn: Connection, account_id: int, catalog_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(catalogs, _item_count()).where(
            catalogs.c.account_id == account_id, catalogs.c.id == catalog_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"catalog {catalog_id} does not exist")
    return _catalog_row(row, row.item_count)


def list_catalogs(
    conn: Connection, account_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Catalogs by name, `limit + 1` of them (the extra one tells the page there is more)."""
    rows = conn.execute(
        select(catalogs, _item_count())
        .where(catalogs.c.account_id == account_id)
        .order_by(catalogs.c.name, catalogs.c.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return [_catalog_row(r, r.item_count) for r in rows]


def catalog_columns(conn: Connection, account_id: int, catalog_id: int) -> dict[str, ValueType]:
    """The declared columns of a catalog (NotFound when it is not the account's)."""
    return dict(_columns(_find(conn, account_id, catalog_id).columns))


def update_catalog(
    conn: Connection,
    account_id: int,
    catalog_id: int,
    *,
    name: str | None,
    columns: Sequence[Column],
    now: int,
) -> dict[str, Any]:
    """Rename the catalog and/or add columns. A column's type never changes (stored items
    hold values of the old type); a column named again with its own type is no change."""
    row = _find(conn, account_id, catalog_id)
    values: dict[str, Any] = {}
    if name is not None and name != row.name:
        if _name_taken(conn, account_id, name):
            raise Conflict(f"catalog {name!r} already exists")
        _refuse_if_used(conn, account_id, row.name, "renamed")
        values["name"] = name
    current = _columns(row.columns)
    types = dict(current)
    changed = [n for n, k in columns if n in types and types[n] is not k]
    if changed:
        raise Conflict(
            f"the type of {', '.join(changed)} cannot change: stored items hold the old "
            "type; add a new column instead"
        )
    added = [(n, k) for n, k in columns if n not in types]
    if added:
        if len(current) + len(added) > MAX_COLUMNS:
            raise InvalidInput([Problem("columns", f"a catalog has at most {MAX_COLUMNS} columns")])
        values["columns"] = [{"name": n, "type": k.value} for n, k in current + added]
    if values:
        values["updated_at"] = now
        conn.execute(
            update(catalogs)
            .where(catalogs.c.account_id == account_id, catalogs.c.id == catalog_id)
            .values(**values)
        )
    return read_catalog(conn, account_id, catalog_id)


def delete_catalog(conn: Connection, account_id: int, catalog_id: int) -> None:
    """Delete a catalog and its items; refused while a running flow looks items up in it."""
    row = _find(conn, account_id, catalog_id)
    _refuse_if_used(conn, account_id, row.name, "deleted")
    conn.execute(
        delete(catalog_items).where(
            catalog_items.c.account_id == account_id, catalog_items.c.catalog_id == catalog_id
        )
    )
    conn.execute(
        delete(catalogs).where(catalogs.c.account_id == account_id, catalogs.c.id == catalog_id)
    )


def flows_using(conn: Connection, account_id: int, name: str) -> list[tuple[int, str]]:
    """(flow id, flow name) of running versions with a `catalog_lookup` of catalog `name`."""
    found: dict[int, str] = {}
    rows = conn.execute(
        select(flow_versions.c.flow_id, flow_versions.c.document).where(
            flow_versions.c.account_id == account_id,
            flow_versions.c.status.in_([s.value for s in RUNNING]),
        )
    )
    for row in rows:
        document: Any = row.document or {}
        for element in document.get("elements") or ():
            if (
                isinstance(element, dict)
                and element.get("type") == "catalog_lookup"
                and element.get("catalog") == name
            ):
                found[row.flow_id] = str(document.get("name") or "")
    return sorted(found.items())


def _refuse_if_used(conn: Connection, account_id: int, name: str, what: str) -> None:
    using = flows_using(conn, account_id, name)
    if using:
        names = ", ".join(f"{flow_id} ({flow_name})" for flow_id, flow_name in using[:5])
        raise Conflict(
            f"catalog {name!r} cannot be {what}: running flows look items up in it: {names}; "
            "stop or cancel them first"
        )


def catalog_types(conn: Connection, account_id: int) -> dict[str, dict[str, ValueType]]:
    """Catalog name -> declared column -> type, for flow validation."""
    return {
        row.name: dict(_columns(row.columns))
        for row in conn.execute(
            select(catalogs.c.name, catalogs.c.columns).where(catalogs.c.account_id == account_id)
        )
    }


# --- items -------------------------------------------------------------------------------


def _item_row(key: str, values: Any, updated_at: int) -> dict[str, Any]:
    return {"id": key, "values": _decoded(values), "updatedAt": format_micros(updated_at)}


def _decoded(values: Any) -> dict[str, Any]:
    if isinstance(values, str | bytes):
        decoded: dict[str, Any] = orjson.loads(values)
        return decoded
    return dict(values or {})


def upsert_items(
    conn: Connection,
    account_id: int,
    catalog_id: int,
    items: Sequence[tuple[str, dict[str, Any]]],
    now: int,
) -> list[bool]:
    """Store items (key, checked values), each replacing the item with its key; answer
    whether each was created. A key given twice: the later wins, only the first created."""
    _find(conn, account_id, catalog_id)
    if not items:
        return []
    last: dict[str, dict[str, Any]] = {}
    for key, values in items:
        last[key] = values
    rows = [(key, orjson.dumps(values).decode()) for key, values in last.items()]
    if binds_arrays(dialect_of_conn(conn)):
        new = _upsert_arrays(conn, account_id, catalog_id, rows, now)
    else:
        new = _upsert_lists(conn, account_id, catalog_id, rows, now)
    created: list[bool] = []
    for key, _ in items:
        created.append(key in new)
        new.discard(key)
    return created


def _upsert_arrays(
    conn: Connection, account_id: int, catalog_id: int, rows: list[tuple[str, str]], now: int
) -> set[str]:
    """Set-based: one statement per chunk, which tells the inserted keys itself (`xmax = 0`)
    and finds conflicts through the primary key whatever the planner thinks of the table."""
    new: set[str] = set()
    sql = (
        "INSERT INTO catalog_items (catalog_id, account_id, key, item_values, updated_at) "
        "SELECT %s, %s, k, v::jsonb, %s FROM unnest(%s::text[], %s::text[]) AS t(k, v) "
        "ON CONFLICT (catalog_id, key) DO UPDATE SET item_values = excluded.item_values, "
        "updated_at = excluded.updated_at RETURNING key, (xmax = 0)"
    )
    for start in range(0, len(rows), BULK):
        chunk = rows[start : start + BULK]
        params = (catalog_id, account_id, now, [k for k, _ in chunk], [v for _, v in chunk])
        new.update(key for key, inserted in conn.exec_driver_sql(sql, params) if inserted)
    return new


def _upsert_lists(
    conn: Connection, account_id: int, catalog_id: int, rows: list[tuple[str, str]], now: int
) -> set[str]:
    """The keys that exist are read by primary key first, then one `executemany` (SQLite)."""
    existing: set[str] = set()
    keys = [key for key, _ in rows]
    for start in range(0, len(keys), CHUNK):
        existing.update(
            conn.execute(
                select(catalog_items.c.key).where(
                    catalog_items.c.catalog_id == catalog_id,
                    catalog_items.c.account_id == account_id,
                    catalog_items.c.key.in_(keys[start : start + CHUNK]),
                )
            ).scalars()
        )
    conn.exec_driver_sql(
        "INSERT INTO catalog_items (catalog_id, account_id, key, item_values, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (catalog_id, key) DO UPDATE SET "
        "item_values = excluded.item_values, updated_at = excluded.updated_at",
        [(catalog_id, account_id, key, values, now) for key, values in rows],
    )
    return {key for key in keys if key not in existing}


def read_item(conn: Connection, account_id: int, catalog_id: int, key: str) -> dict[str, Any]:
    _find(conn, account_id, catalog_id)
    row = conn.execute(
        select(catalog_items.c.item_values, catalog_items.c.updated_at).where(
            catalog_items.c.account_id == account_id,
            catalog_items.c.catalog_id == catalog_id,
            catalog_items.c.key == key,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"catalog {catalog_id} has no item {key!r}")
    return _item_row(key, row.item_values, row.updated_at)


def list_items(
    conn: Connection,
    account_id: int,
    catalog_id: int,
    *,
    limit: int,
    offset: int,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """Items by key, `limit + 1` of them; `after` starts past that key (keyset paging,
    which stays fast deep into a large catalog)."""
    _find(conn, account_id, catalog_id)
    query = select(catalog_items.c.key, catalog_items.c.item_values, catalog_items.c.updated_at)
    query = query.where(
        catalog_items.c.account_id == account_id, catalog_items.c.catalog_id == catalog_id
    )
    if after is not None:
        query = query.where(catalog_items.c.key > after)
    rows = conn.execute(query.order_by(catalog_items.c.key).limit(limit + 1).offset(offset)).all()
    return [_item_row(r.key, r.item_values, r.updated_at) for r in rows]


def delete_item(conn: Connection, account_id: int, catalog_id: int, key: str) -> None:
    _find(conn, account_id, catalog_id)
    done = conn.execute(
        delete(catalog_items).where(
            catalog_items.c.account_id == account_id,
            catalog_items.c.catalog_id == catalog_id,
            catalog_items.c.key == key,
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"catalog {catalog_id} has no item {key!r}")


def lookup(
    conn: Connection, account_id: int, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The items found among (catalog name, key) pairs, each as its values plus the key
    column: one query for the catalogs, then the items by primary key in bulk."""
    pairs = sorted(set(wanted))
    if not pairs:
        return {}
    names = sorted({name for name, _ in pairs})
    ids: dict[str, int] = {}
    for start in range(0, len(names), CHUNK):
        for name, catalog_id in conn.execute(
            select(catalogs.c.name, catalogs.c.id).where(
                catalogs.c.account_id == account_id,
                catalogs.c.name.in_(names[start : start + CHUNK]),
            )
        ):
            ids[name] = catalog_id
    names_of = {catalog_id: name for name, catalog_id in ids.items()}
    keys = [(ids[name], key) for name, key in pairs if name in ids]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for catalog_id, key, values in _items_by_key(conn, account_id, keys):
        found[(names_of[catalog_id], key)] = {**_decoded(values), KEY_COLUMN: key}
    return found


def _items_by_key(
    conn: Connection, account_id: int, keys: list[tuple[int, str]]
) -> Iterator[tuple[int, str, Any]]:
    if not keys:
        return
    if binds_arrays(dialect_of_conn(conn)):
        # A join with the wanted pairs as arrays: a list of hundreds of parameters in a
        # prepared plan would be tested against every row of the catalog instead.
        sql = (
            "SELECT i.catalog_id, i.key, i.item_values FROM unnest(%s::bigint[], %s::text[]) "
            "AS w(catalog_id, key) JOIN catalog_items i ON i.catalog_id = w.catalog_id "
            "AND i.key = w.key WHERE i.account_id = %s"
        )
        for start in range(0, len(keys), BULK):
            chunk = keys[start : start + BULK]
            params = ([c for c, _ in chunk], [k for _, k in chunk], account_id)
            for row in conn.exec_driver_sql(sql, params):
                yield row[0], row[1], row[2]
        return
    by_catalog: dict[int, list[str]] = defaultdict(list)
    for catalog_id, key in keys:
        by_catalog[catalog_id].append(key)
    for catalog_id, wanted in by_catalog.items():
        for start in range(0, len(wanted), CHUNK):
            rows = conn.execute(
                select(catalog_items.c.key, catalog_items.c.item_values).where(
                    catalog_items.c.catalog_id == catalog_id,
                    catalog_items.c.account_id == account_id,
                    catalog_items.c.key.in_(wanted[start : start + CHUNK]),
                )
            )
            for key, values in rows:
                yield catalog_id, key, values
