"""The FastAPI application: routers under /api/v1 and /metrics beside it, the error
envelope, the body limit."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tidings import __version__
from tidings.api import errors, metrics, openapi, web
from tidings.api.context import AppContext
from tidings.api.fastpath import EventsFastPath
from tidings.api.limits import BodyLimit
from tidings.api.responses import JSONResponse
from tidings.api.routes import (
    accounts,
    attributes,
    catalogs,
    cluster,
    companies,
    connections,
    event_definitions,
    events,
    flow_versions,
    flows,
    journeys,
    keys,
    mep,
    participants,
    people,
    performance,
    report_links,
    reports,
    sandbox,
    segments,
    sftp,
    system,
    tags,
    templates,
    test_runs,
    tracking,
    webhooks,
)

PREFIX = "/api/v1"


def create_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="Tidings",
        version=__version__,
        description="Customer-journey orchestration: people, events, flows and channels.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        default_response_class=JSONResponse,
    )
    app.state.ctx = ctx
    errors.install(app)
    api = APIRouter(prefix=PREFIX)
    for module in (
        system,
        accounts,
        event_definitions,
        events,
        people,
        tags,
        companies,
        attributes,
        segments,
        flows,
        flow_versions,
        templates,
        participants,
        performance,
        sandbox,
        catalogs,
        journeys,
        cluster,
        connections,
        webhooks,
        test_runs,
        keys,
        mep,
        reports,
        sftp,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.state.metrics = metrics.registry(ctx)
    app.include_router(metrics.router)  # at the root, beside /api/v1 (DESIGN.md)
    app.include_router(tracking.router)  # /t/ and /u/: links in messages, no API key
    app.include_router(report_links.router)  # /r/: emailed reports' links, no API key
    openapi.install(app)
    web.install(app)  # the web app at `/`, for the paths no route matches
    app.add_middleware(
        BodyLimit,
        max_bytes=ctx.max_body_bytes,
        larger={"/items/csv": catalogs.MAX_CSV_BYTES},
    )
    app.add_middleware(EventsFastPath, ctx=ctx)
    return app
