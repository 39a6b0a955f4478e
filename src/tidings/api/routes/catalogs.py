"""`/catalogs`: account tables of items by key with typed columns, read by the
`catalog_lookup` element of flows.

A catalog declares its columns (`[{"name", "type"}]`, the types of custom attributes);
every item has the key column `id` (text) and a value per column, checked against the
column's type. Items are written one at a time (`PUT /catalogs/{id}/items/{key}`), up to
1,000 at a time (`POST /catalogs/{id}/items`, answered per item like `/people/batch`) or
from a CSV file (`POST /catalogs/{id}/items/csv`, answered per row). Every write of an
item replaces it whole: a column left out is empty afterwards.

A catalog is renamed or given new columns with PATCH; a column's type never changes. A
catalog that a running flow looks items up in cannot be renamed or deleted (409).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from tidings.api import openapi
from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.errors import envelope, validation_details
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.responses import JSONResponse
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.domain.catalogs import (
    KEY_COLUMN,
    MAX_COLUMNS,
    MAX_KEY,
    MAX_NAME,
    check_catalog_name,
    check_columns,
    check_key,
    check_values,
    parse_csv,
)
from tidings.domain.errors import (
    InvalidInput,
    MalformedRequest,
    Problem,
    ProblemList,
    TooLarge,
)
from tidings.domain.values import ValueType, check_text
from tidings.services.items import refused
from tidings.store import catalogs as store

router = APIRouter(prefix="/catalogs", tags=["catalogs"], responses=ERRORS)
CatalogId = id_path("catalog")
Key = Path(min_length=1, max_length=MAX_KEY, description="The item's key (its `id`)")
MAX_ITEMS = 1000
MAX_CSV_BYTES = 10 * 1024 * 1024
MAX_CSV_ROWS = 100_000
CSV_CHUNK = 5000  # rows per write, so a large upload never holds the writer for long
MAX_ERRORS = 1000  # row errors listed in a CSV answer (all are counted)
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/octet-stream"})


class ColumnIn(Strict):
    name: str = Field(max_length=64, description="Column name, e.g. price (not `id`)")
    type: ValueType = Field(description="text, decimal, integer, boolean, date, datetime, list")


class CatalogCreate(Strict):
    name: str = Field(max_length=MAX_NAME, description="Catalog name, e.g. products")
    columns: list[ColumnIn] = Field(
        default_factory=list,
        max_length=MAX_COLUMNS,
        description="The columns besides the key column `id`, in order",
    )


class CatalogUpdate(Strict):
    name: str | None = Field(None, max_length=MAX_NAME, description="A new name")
    columns: list[ColumnIn] | None = Field(
        None, max_length=MAX_COLUMNS, description="Columns to add (a type never changes)"
    )


class ItemIn(Strict):
    id: str = Field(max_length=MAX_KEY, description="The item's key")
    values: dict[str, Any] = Field(
        default_factory=dict, description="Column -> value; a column left out is empty"
    )


class ItemValues(Strict):
    values: dict[str, Any] = Field(
        default_factory=dict, description="Column -> value; a column left out is empty"
    )


class ItemAnswer(BaseModel):
    status: str = Field(description="accepted or refused")
    id: str | None = None
    created: bool | None = None
    error: dict[str, Any] | None = None


class ItemsAnswer(BaseModel):
    items: list[ItemAnswer]


class RowErrorOut(BaseModel):
    row: int = Field(description="The row number; the header is row 1")
    column: str | None = Field(description="The column at fault; null for the whole row")
    message: str


class CsvAnswer(BaseModel):
    imported: int = Field(description="Rows stored (created or replaced)")
    created: int
    updated: int
    refused: int = Field(description="Rows not stored; see errors")
    errors: list[RowErrorOut] = Field(description=f"The first {MAX_ERRORS} row errors")


_item = TypeAdapter(ItemIn)
ITEMS_BODY = openapi.one_or_many(openapi.register("CatalogItemIn", _item), MAX_ITEMS)
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": f"A header row naming `{KEY_COLUMN}` and every column, then one row "
        "per item",
    }
}


def _columns(body: list[ColumnIn], problems: ProblemList) -> list[tuple[str, ValueType]]:
    return check_columns([(c.name, c.type) for c in body], problems)


def _checked_name(name: str, problems: ProblemList) -> None:
    try:
        check_catalog_name(name)
    except ValueError as exc:
        problems.add("name", str(exc))


def _checked_key(key: str) -> str:
    problems = ProblemList()
    checked = check_key(key, "key", problems)
    problems.raise_if_any()
    assert checked is not None
    return checked


def _catalog_columns(ctx: AppContext, account_id: int, catalog_id: int) -> dict[str, ValueType]:
    with ctx.db.read() as conn:
        return store.catalog_columns(conn, account_id, catalog_id)


# --- catalogs ----------------------------------------------------------------------------


@router.post("", status_code=201, summary="Create a catalog with its columns")
def create_catalog(
    body: CatalogCreate, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    problems = ProblemList()
    _checked_name(body.name, problems)
    columns = _columns(body.columns, problems)
    problems.raise_if_any()
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.create_catalog(
            conn, who.account_id, name=body.name, columns=columns, now=now
        )
    )


@router.get("", summary="Catalogs by name, each with its columns and item count")
def list_catalogs(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_catalogs(conn, who.account_id, limit=page.limit, offset=page.offset)
    return page_of(rows, page)


@router.get("/{catalog_id}")
def read_catalog(
    catalog_id: int = CatalogId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return store.read_catalog(conn, who.account_id, catalog_id)


@router.patch("/{catalog_id}", summary="Rename a catalog or add columns")
def update_catalog(
    body: CatalogUpdate,
    catalog_id: int = CatalogId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    if body.name is not None:
        _checked_name(body.name, problems)
    columns = _columns(body.columns or [], problems)
    problems.raise_if_any()
    now = ctx.now_micros()
    return ctx.db.write(
        lambda conn: store.update_catalog(
            conn, who.account_id, catalog_id, name=body.name, columns=columns, now=now
        )
    )


@router.delete("/{catalog_id}", status_code=204, summary="Delete a catalog and its items")
def delete_catalog(
    catalog_id: int = CatalogId, who: Caller = Depends(caller), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_catalog(conn, who.account_id, catalog_id))
    return Response(status_code=204)


# --- items -------------------------------------------------------------------------------


@router.post(
    "/{catalog_id}/items",
    response_model=ItemsAnswer,
    openapi_extra=ITEMS_BODY,
    summary="Create or replace one item or up to 1,000, answered per item",
)
async def upsert_items(
    request: Request,
    catalog_id: int = CatalogId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """Each item (`{"id", "values"}`) is checked on its own against the column types and
    answered in order; the accepted ones are stored in one transaction before the answer.
    A key given twice: the later wins, only the first says `created`. A single item that
    is refused is a 422 naming the field."""
    columns = await run_in_threadpool(_catalog_columns, ctx, who.account_id, catalog_id)
    items, single = _parse_items(await request.body())
    answers: list[dict[str, Any] | None] = [None] * len(items)
    writes: list[tuple[int, str, dict[str, Any]]] = []
    for index, raw in enumerate(items):
        problems = ProblemList()
        try:
            item = _item.validate_python(raw)
        except ValidationError as exc:
            for detail in validation_details(exc.errors()):
                problems.add(detail["field"], detail["message"])
        else:
            key = check_key(item.id, KEY_COLUMN, problems)
            values = check_values(item.values, columns, problems)
            if key is not None and not problems:
                writes.append((index, key, values))
        if problems:
            if single:
                raise InvalidInput(problems.items)
            answers[index] = refused(problems.items)
    account, now = who.account_id, ctx.now_micros()

    def write(conn: Connection) -> list[bool]:
        pairs = [(key, values) for _, key, values in writes]
        return store.upsert_items(conn, account, catalog_id, pairs, now)

    created = await ctx.db.write_async(write)
    for (index, key, _), fresh in zip(writes, created, strict=True):
        answers[index] = {"status": "accepted", "id": key, "created": fresh}
    return JSONResponse({"items": answers})


def _parse_items(body: bytes) -> tuple[list[Any], bool]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the request body is not valid JSON") from None
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise InvalidInput([Problem("body", "must be an item or a list of items")])
    if not data:
        raise InvalidInput([Problem("body", "the list is empty")])
    if len(data) > MAX_ITEMS:
        raise InvalidInput([Problem("body", f"at most {MAX_ITEMS} items per request")])
    return data, False


@router.post(
    "/{catalog_id}/items/csv",
    response_model=CsvAnswer,
    openapi_extra=CSV_BODY,
    summary="Create or replace items from a CSV file, answered per row",
)
async def upload_csv(
    request: Request,
    catalog_id: int = CatalogId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """The body is a CSV file (UTF-8, comma-separated, `"` quotes): a header row naming
    `id` and every column of the catalog in any order, then one row per item. Cells are
    read by the column's type (empty: no value; booleans true/false; lists as JSON).
    Good rows are stored even when others are refused; each refused row is reported
    with its number (the header is row 1) and the column at fault. At most 10 MB and
    100,000 rows per upload (413 beyond)."""
    columns = await run_in_threadpool(_catalog_columns, ctx, who.account_id, catalog_id)
    kind = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        return envelope(
            415,
            "unsupported_media_type",
            f"send the file as text/csv, not {kind}",
            [{"field": "body", "message": "must be a CSV file (Content-Type: text/csv)"}],
        )
    body = await request.body()
    limit = max(MAX_CSV_BYTES, ctx.max_body_bytes)
    if len(body) > limit:
        raise TooLarge(f"the file is over the limit of {limit} bytes; split it")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput([Problem("body", "must be UTF-8 text")]) from None
    rows = await run_in_threadpool(parse_csv, text, columns, max_rows=MAX_CSV_ROWS)
    account, now = who.account_id, ctx.now_micros()
    created = 0
    for start in range(0, len(rows.items), CSV_CHUNK):
        chunk = rows.items[start : start + CSV_CHUNK]

        def write(conn: Connection, chunk: list[tuple[str, dict[str, Any]]] = chunk) -> list[bool]:
            return store.upsert_items(conn, account, catalog_id, chunk, now)

        created += sum(await ctx.db.write_async(write))
    answer = {
        "imported": len(rows.items),
        "created": created,
        "updated": len(rows.items) - created,
        "refused": rows.refused,
        "errors": [e.as_dict() for e in rows.errors[:MAX_ERRORS]],
    }
    return JSONResponse(answer)


@router.get("/{catalog_id}/items", summary="Items by key, paged (`after` for keyset paging)")
def list_items(
    catalog_id: int = CatalogId,
    after: str | None = Query(
        None, max_length=MAX_KEY, description="Only items whose key sorts after this one"
    ),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    if after is not None:
        try:
            check_text(after)
        except ValueError as exc:
            raise InvalidInput([Problem("after", str(exc))]) from None
    with ctx.db.read() as conn:
        rows = store.list_items(
            conn, who.account_id, catalog_id, limit=page.limit, offset=page.offset, after=after
        )
    return page_of(rows, page)


@router.get("/{catalog_id}/items/{key:path}")
def read_item(
    catalog_id: int = CatalogId,
    key: str = Key,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    key = _checked_key(key)
    with ctx.db.read() as conn:
        return store.read_item(conn, who.account_id, catalog_id, key)


@router.put(
    "/{catalog_id}/items/{key:path}",
    responses={201: {"description": "The item was created"}},
    summary="Create or replace one item",
)
def put_item(
    body: ItemValues,
    response: Response,
    catalog_id: int = CatalogId,
    key: str = Key,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    problems = ProblemList()
    checked = check_key(key, "key", problems)
    columns = _catalog_columns(ctx, who.account_id, catalog_id)
    values = check_values(body.values, columns, problems)
    problems.raise_if_any()
    assert checked is not None
    account, now = who.account_id, ctx.now_micros()

    def write(conn: Connection) -> tuple[bool, dict[str, Any]]:
        [created] = store.upsert_items(conn, account, catalog_id, [(checked, values)], now)
        return created, store.read_item(conn, account, catalog_id, checked)

    created, item = ctx.db.write(write)
    response.status_code = 201 if created else 200
    return item


@router.delete("/{catalog_id}/items/{key:path}", status_code=204, summary="Delete an item")
def delete_item(
    catalog_id: int = CatalogId,
    key: str = Key,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> Response:
    key = _checked_key(key)
    ctx.db.write(lambda conn: store.delete_item(conn, who.account_id, catalog_id, key))
    return Response(status_code=204)
