"""The composition root: the only place that reads settings and picks the database, the
clock and the providers. Everything else receives what it needs as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tidings.api.app import create_app
from tidings.api.context import AppContext
from tidings.clock import Clock, RealClock, parse_clock
from tidings.config import Settings
from tidings.domain.durations import to_micros
from tidings.engine.engine import Engine
from tidings.engine.figures import EngineFigures
from tidings.engine.interest import Interest
from tidings.engine.leases import LeaseScope
from tidings.engine.process import ChildSettings, EngineProcess
from tidings.engine.runner import Runner
from tidings.engine.worker import Worker
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
    engine_process: EngineProcess | None = None
    worker: Worker | None = None

    def close(self) -> None:
        if self.engine_process is not None:
            self.engine_process.stop()
        if self.worker is not None:
            self.worker.stop()  # its runner first, then its partitions go back
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
    figures = EngineFigures()  # what /metrics reads of the engine (engine/figures.py)
    scope = _lease_scope(db, clock, settings, figures)
    engine = Engine(
        db=db,
        partitions=settings.partitions,
        interest=interest,
        scope=scope,
        uniform_paths=settings.uniform_paths,
        sql_sends=settings.sql_sends,
        figures=figures,
    )
    ctx.engine_figures = figures
    ctx.lease_seconds = settings.lease_seconds if scope is not None else None

    with db.read() as conn:
        interest.refresh(conn)
    ctx.wants_event = interest.wants

    def after_flow_change(conn: Any) -> None:
        interest.refresh(conn)
        engine.programs.invalidate()

    ctx.refresh_interest = after_flow_change
    runner = _runner(settings, db, clock, engine)
    engine_process = None
    worker = None
    if clock.virtual:
        ctx.drain = runner.drain
        ctx.wake = runner.wake
    elif settings.engine_process:
        # The engine gets its own process and core (see engine/process.py); on
        # PostgreSQL it is a worker there, with its share of the partitions.
        engine_process = EngineProcess(
            ChildSettings(
                database_url=settings.database_url,
                partitions=settings.partitions,
                allow_private_urls=settings.allow_private_urls,
                log_level=settings.log_level,
                trace_retention_days=settings.trace_retention_days,
                uniform_paths=settings.uniform_paths,
                sql_sends=settings.sql_sends,
                lease_seconds=settings.lease_seconds,
                lease_renew_seconds=settings.lease_renew_seconds,
                worker_name=None if scope is None else scope.name,
            )
        )
        engine_process.start()
        ctx.wake = engine_process.wake
        ctx.engine_figures = engine_process.figures  # counted by the child
    elif scope is not None:
        # PostgreSQL: this engine is one worker among many (`tidings worker`).
        worker = Worker(db=db, runner=runner, scope=scope)
        worker.start()
        ctx.wake = runner.wake
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
        engine_process=engine_process,
        worker=worker,
    )


def _lease_scope(
    db: Database, clock: Clock, settings: Settings, figures: EngineFigures
) -> LeaseScope | None:
    """On PostgreSQL with the real clock an engine leases its share of the partitions;
    otherwise it holds them all (embedded, or the virtual clock's single drain)."""
    if db.dialect != "postgresql" or clock.virtual:
        return None
    return LeaseScope(
        db=db,
        clock=clock,
        partitions=settings.partitions,
        lease_seconds=settings.lease_seconds,
        renew_seconds=settings.lease_renew_seconds,
        figures=figures,
    )


def build_worker(settings: Settings | None = None) -> Worker:
    """`tidings worker`: the engine alone, one of many, on PostgreSQL and the real clock.
    Migrates, starts the writer; the caller starts and stops the worker."""
    settings = settings or Settings()
    clock = RealClock()
    db = Database(url=settings.database_url)
    figures = EngineFigures()
    scope = _lease_scope(db, clock, settings, figures)
    if scope is None:
        db.close()
        raise ValueError("tidings worker needs PostgreSQL")
    db.migrate()
    db.start()
    engine = Engine(
        db=db,
        partitions=settings.partitions,
        scope=scope,
        uniform_paths=settings.uniform_paths,
        sql_sends=settings.sql_sends,
        figures=figures,
    )
    runner = _runner(settings, db, clock, engine)
    return Worker(db=db, runner=runner, scope=scope)


def _runner(settings: Settings, db: Database, clock: Clock, engine: Engine) -> Runner:
    return Runner(
        db=db,
        clock=clock,
        engine=engine,
        allow_private_urls=settings.allow_private_urls,
        trace_retention_days=settings.trace_retention_days,
    )
