"""The FastAPI application: routers under /api/v1, the error envelope, the body limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from tidings import __version__
from tidings.api import errors, openapi
from tidings.api.context import AppContext
from tidings.api.fastpath import EventsFastPath
from tidings.api.limits import BodyLimit
from tidings.api.responses import JSONResponse
from tidings.api.routes import (
    accounts,
    attributes,
    companies,
    event_definitions,
    events,
    flow_versions,
    flows,
    participants,
    people,
    segments,
    system,
    tags,
    templates,
)

PREFIX = "/api/v1"


log = logging.getLogger("tidings.api")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: AppContext = app.state.ctx
    task = None
    if not ctx.clock.virtual and ctx.drain is not None:
        # Only when no engine thread drives time-driven work by itself.
        task = asyncio.get_running_loop().create_task(_tick(ctx))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


async def _tick(ctx: AppContext) -> None:
    """On the real clock, time-driven work runs by itself, once per tick."""
    assert ctx.drain is not None
    while True:
        try:
            await ctx.drain(ctx.clock.now())
        except Exception:
            log.exception("background work failed; retrying next tick")
        await asyncio.sleep(ctx.tick_seconds)


def create_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
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
    ):
        api.include_router(module.router)
    app.include_router(api)
    openapi.install(app)
    app.add_middleware(BodyLimit, max_bytes=ctx.max_body_bytes)
    app.add_middleware(EventsFastPath, ctx=ctx)
    return app
