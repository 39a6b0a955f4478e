"""The composition root: the only place that reads settings and picks the database, the
clock and the providers. Everything else receives what it needs as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tidings.api.app import create_app
from tidings.api.context import AppContext
from tidings.clock import Clock, parse_clock
from tidings.config import Settings
from tidings.domain.durations import to_micros
from tidings.engine.engine import Engine
from tidings.engine.interest import Interest
from tidings.engine.runner import Runner
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
    runner: Runner

    def close(self) -> None:
        self.runner.stop()
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
        partitions=settings.partitions,
    )

    # One process holds the API and the only engine on SQLite: ingest may then skip the
    # events no live flow reacts to. On PostgreSQL other processes may launch flows.
    interest = Interest(everything=db.dialect != "sqlite")
    engine = Engine(db=db, partitions=settings.partitions, interest=interest)

    with db.read() as conn:
        interest.refresh(conn)
    ctx.wants_event = interest.wants

    def after_flow_change(conn: Any) -> None:
        interest.refresh(conn)
        engine.programs.invalidate()

    ctx.refresh_interest = after_flow_change
    runner = Runner(
        db=db, clock=clock, engine=engine, allow_private_urls=settings.allow_private_urls
    )
    if clock.virtual:
        ctx.drain = runner.drain
    else:
        runner.start()
    ctx.wake = runner.wake
    return Tidings(
        settings=settings,
        db=db,
        clock=clock,
        app=create_app(ctx),
        generated_key=generated,
        runner=runner,
    )
