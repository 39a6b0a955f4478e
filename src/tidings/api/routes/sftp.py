"""`/sftp-connections` (admin keys only) and `/flows/{id}/imports`: the SFTP servers of
an account's `sftp` entries and what each poll imported (DESIGN.md, Reports, MEP and
SFTP imports). Secrets are write-only; the server's host key is pinned."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from tidings.api.auth import Caller, admin, caller
from tidings.api.context import AppContext, context
from tidings.api.paging import PageParams, page_of, page_params
from tidings.api.schemas import ERRORS, Strict
from tidings.services import sftp as service
from tidings.services.report_files import CONTENT_TYPES, write_csv
from tidings.store import flows as flow_store
from tidings.store import sftp as store

router = APIRouter(tags=["sftp imports"], responses=ERRORS)
Id = Path(ge=1, le=2**62, description="The SFTP connection's id")
FlowId = Path(ge=1, le=2**62, description="The flow's id")
HOST_KEY = (
    "The server's public host key, pinned: `ssh-ed25519 AAAA...` or a known_hosts line "
    "(`ssh-keyscan` prints them); a server that shows another key is refused"
)


class SftpConnectionCreate(Strict):
    name: str = Field(min_length=1, max_length=200, description="The name sftp entries use")
    host: str = Field(min_length=1, max_length=255, description="Host name or IP address")
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=255)
    password: str | None = Field(None, min_length=1, max_length=1024, description="Write-only")
    privateKey: str | None = Field(
        None, min_length=1, max_length=16384, description="OpenSSH or PEM, write-only"
    )
    hostKey: str = Field(min_length=1, max_length=16384, description=HOST_KEY)


class SftpConnectionUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    host: str | None = Field(None, min_length=1, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = Field(None, min_length=1, max_length=255)
    password: str | None = Field(None, min_length=1, max_length=1024)
    privateKey: str | None = Field(None, min_length=1, max_length=16384)
    hostKey: str | None = Field(None, min_length=1, max_length=16384, description=HOST_KEY)


@router.post("/sftp-connections", status_code=201)
def create_sftp_connection(
    body: SftpConnectionCreate, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    now = ctx.now_micros()
    fields = body.model_dump()
    row = ctx.db.write(
        lambda conn: service.create(
            conn, who.account_id, fields, now=now, allow_private=ctx.allow_private_urls
        )
    )
    return service.view(row)


@router.get("/sftp-connections")
def list_sftp_connections(
    page: PageParams = Depends(page_params),
    who: Caller = Depends(admin),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.list_connections(
            conn, who.account_id, limit=page.limit + 1, offset=page.offset
        )
    return page_of([service.view(r) for r in rows], page)


@router.get("/sftp-connections/{connection_id}")
def read_sftp_connection(
    connection_id: int = Id, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return service.view(store.read_connection(conn, who.account_id, connection_id))


@router.patch("/sftp-connections/{connection_id}")
def update_sftp_connection(
    body: SftpConnectionUpdate,
    connection_id: int = Id,
    who: Caller = Depends(admin),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    now = ctx.now_micros()
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    row = ctx.db.write(
        lambda conn: service.change(
            conn,
            who.account_id,
            connection_id,
            fields,
            now=now,
            allow_private=ctx.allow_private_urls,
        )
    )
    return service.view(row)


@router.delete("/sftp-connections/{connection_id}", status_code=204)
def delete_sftp_connection(
    connection_id: int = Id, who: Caller = Depends(admin), ctx: AppContext = Depends(context)
) -> Response:
    ctx.db.write(lambda conn: store.delete_connection(conn, who.account_id, connection_id))
    return Response(status_code=204)


@router.get(
    "/flows/{flow_id}/imports",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def list_imports(
    flow_id: int = FlowId,
    format: Literal["json", "csv"] = Query("json", description="csv: the whole table"),
    page: PageParams = Depends(page_params),
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> Any:
    """What the flow's sftp entry fetched, newest first: one row a file imported or a
    poll that failed (`error`)."""
    with ctx.db.read() as conn:
        flow_store.read_flow(conn, who.account_id, flow_id)
        if format == "csv":  # as the imports report writes it, without Excel's BOM
            header, table = store.import_rows(conn, who.account_id, flow_id)
            pieces: list[bytes] = []
            write_csv(header, table, pieces.append, bom=False)
            return Response(
                b"".join(pieces),
                media_type=CONTENT_TYPES["csv"],
                headers={"Content-Disposition": f'attachment; filename="imports-{flow_id}.csv"'},
            )
        rows = store.list_imports(
            conn, who.account_id, flow_id, limit=page.limit + 1, offset=page.offset
        )
    return page_of(rows, page)
