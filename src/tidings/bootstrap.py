"""The composition root: the only place that reads settings and picks the database, the
clock and the providers. Everything else receives what it needs as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI

from tidings.api.app import create_app
from tidings.api.context import AppContext
from tidings.clock import Clock, parse_clock
from tidings.config import Settings
from tidings.domain.durations import to_micros
from tidings.engine.housekeeping import housekeep
from tidings.store.accounts import ensure_default_account
from tidings.store.database import Database


@dataclass
class Tidings:
    """A running system: its database, clock and web application."""

    settings: Settings
    db: Database
    clock: Clock
    app: FastAPI
    generated_key: str | None

    def close(self) -> None:
        self.db.close()


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Tidings:
    """Migrate, make sure the default account exists, start the writer, build the app."""
    settings = settings or Settings()
    clock = clock or parse_clock(settings.clock)
    db = Database(url=settings.database_url)
    db.migrate()
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    with db.write_engine.begin() as conn:
        generated = ensure_default_account(conn, api_key=api_key, now=to_micros(clock.now()))
    db.start()
    ctx = AppContext(
        db=db,
        clock=clock,
        max_body_bytes=settings.max_body_bytes,
        allow_private_urls=settings.allow_private_urls,
    )

    async def drain(target: datetime) -> None:
        now = to_micros(target)
        await db.write_async(lambda conn: housekeep(conn, now))

    ctx.drain = drain
    return Tidings(
        settings=settings, db=db, clock=clock, app=create_app(ctx), generated_key=generated
    )
