"""The composition root: the only place that reads settings and picks the database, the
clock and the providers. Everything else receives what it needs as arguments.

`compose` builds every process Tidings runs, by role:
- `serve`: the API and its engine (in-process on the virtual clock; on the real clock a
  child process, on SQLite the only engine, on PostgreSQL a worker; or a thread when
  `engine_process` is off);
- `worker`: `tidings worker`, the engine alone, one of many (PostgreSQL, real clock);
- `engine_child`: the engine inside serve's child process (`engine/process.py`), built
  in the child;
- `simulate`: `tidings simulate`'s throwaway system, on the virtual clock, with the
  providers the simulation chooses.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from tidings.channels import AnsweringApi, ApiClient
from tidings.clock import Clock, RealClock, parse_clock
from tidings.config import Settings
from tidings.domain.durations import to_micros
from tidings.engine.engine import Engine
from tidings.engine.figures import EngineFigures
from tidings.engine.interest import Interest
from tidings.engine.leases import LeaseScope
from tidings.engine.process import ChildEngine, EngineProcess
from tidings.engine.runner import Runner
from tidings.engine.worker import Worker
from tidings.services.report_emails import ReportMailer
from tidings.services.report_worker import ReportWorker
from tidings.store.accounts import ensure_default_account
from tidings.store.database import Database
from tidings.store.dialect import embedded, several_engines

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path

    from fastapi import FastAPI

Role = Literal["serve", "worker", "engine_child", "simulate"]


@dataclass(frozen=True)
class Providers:
    """The outside world the engine talks to; None: the real one."""

    call_api: Callable[[], ApiClient] | None = None
    """Makes the `call_api` provider (in the caller's event loop)."""
    tracking: bool = True
    """Messages carry tracked links, the open pixel and unsubscribe links (a simulation
    shows them as written)."""
    email_reports: bool = True
    """Reports asked for with `email` are emailed through the account's connection (a
    simulation sends nothing)."""

    @classmethod
    def answering(cls) -> Providers:
        """Nothing leaves the machine: messages go to the sandbox (always), `call_api` is
        answered 200 `{}` (`channels/answering.py`)."""
        return cls(call_api=AnsweringApi, tracking=False, email_reports=False)


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
    reports: ReportWorker | None = None

    def close(self) -> None:
        if self.reports is not None:
            self.reports.stop()  # a report cut short is pending again for the next start
        if self.engine_process is not None:
            self.engine_process.stop()
        if self.worker is not None:
            self.worker.stop()  # its runner first, then its partitions go back
        self.runner.stop()
        self.db.close()


@overload
def compose(
    settings: Settings | None = None,
    *,
    role: Literal["serve", "simulate"] = "serve",
    clock: Clock | None = None,
    providers: Providers | None = None,
) -> Tidings: ...


@overload
def compose(
    settings: Settings | None = None,
    *,
    role: Literal["worker"],
    providers: Providers | None = None,
) -> Worker: ...


@overload
def compose(
    settings: Settings | None = None,
    *,
    role: Literal["engine_child"],
    figures: EngineFigures,
    worker_name: str | None = None,
    providers: Providers | None = None,
) -> ChildEngine: ...


def compose(
    settings: Settings | None = None,
    *,
    role: Role = "serve",
    clock: Clock | None = None,
    providers: Providers | None = None,
    figures: EngineFigures | None = None,
    worker_name: str | None = None,
) -> Tidings | Worker | ChildEngine:
    """Build the process `role` runs: store, clock, providers, engine (see the module
    doc). `figures` and `worker_name` are the engine child's (shared memory; the serve
    process's worker name on PostgreSQL)."""
    settings = settings or Settings()
    providers = providers or Providers()
    if role == "worker":
        return _worker(settings, providers)
    if role == "engine_child":
        assert figures is not None
        return _engine_child(settings, providers, figures, worker_name)
    clock = clock or parse_clock(settings.clock)
    if role == "simulate" and not clock.virtual:
        raise ValueError("a simulation runs on the virtual clock")
    return _serve(settings, clock, providers)


def open_store(settings: Settings | None = None, *, migrate: bool = True) -> Database:
    """The store alone, migrated (the CLI's one-off commands: keys, flows import and
    export, migrate); its writer is not started. The caller closes it."""
    db = Database(url=(settings or Settings()).database_url)
    if migrate:
        db.migrate()
    return db


def simulation_system(folder: Path, *, key: str, start: datetime, call_apis: bool) -> Tidings:
    """A throwaway system for a simulation or a test run (`services/test_runs.py`): a
    SQLite store in `folder`, the virtual clock at `start`, the default account's key
    `key`; nothing leaves the machine unless `call_apis` (then `call_api` really calls)."""
    from tidings.clock import VirtualClock

    settings = Settings(
        database_url=f"sqlite:///{folder / 'simulate.db'}", api_key=key, clock="virtual"
    )
    providers = Providers() if call_apis else Providers.answering()
    # Its migrations would otherwise be logged by the serving process at every test run.
    migrations = logging.getLogger("alembic.runtime.migration")
    level = migrations.level
    migrations.setLevel(max(level, logging.WARNING))
    try:
        return compose(settings, role="simulate", clock=VirtualClock(start), providers=providers)
    finally:
        migrations.setLevel(level)


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Tidings:
    """`tidings serve`'s system (`compose` with `role="serve"`)."""
    return compose(settings, role="serve", clock=clock)


def build_worker(settings: Settings | None = None) -> Worker:
    """`tidings worker` (`compose` with `role="worker"`); the caller starts and stops it."""
    return compose(settings, role="worker")


def _serve(settings: Settings, clock: Clock, providers: Providers) -> Tidings:
    """Migrate, make sure the default account exists, start the writer, build the app."""
    from tidings.api.app import create_app
    from tidings.api.context import AppContext

    db = open_store(settings)
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
        public_url=settings.public_url,
        simulation_system=simulation_system,
    )

    # One process holds the API and the only engine on SQLite: ingest may then skip the
    # events no live flow reacts to. On PostgreSQL other processes may launch flows.
    interest = Interest(everything=not embedded(db.dialect))
    figures = EngineFigures()  # what /metrics reads of the engine (engine/figures.py)
    scope = _lease_scope(db, clock, settings, figures)
    engine = _engine(settings, db, scope, figures, interest=interest)
    ctx.engine_figures = figures
    ctx.lease_seconds = settings.lease_seconds if scope is not None else None

    with db.read() as conn:
        interest.refresh(conn)
    ctx.wants_event = interest.wants

    def after_flow_change(conn: Any) -> None:
        interest.refresh(conn)
        engine.programs.invalidate()

    ctx.refresh_interest = after_flow_change
    runner = _runner(settings, db, clock, engine, providers)
    # Reports are built by a thread of this process, on either clock (in real time: on
    # the virtual clock a report is ready shortly without advancing it).
    mailer = None
    if providers.email_reports:
        mailer = ReportMailer(
            db=db,
            clock=clock,
            public_url=settings.public_url,
            allow_private=settings.allow_private_urls,
            http=providers.call_api,
        )
    reports = ReportWorker(db=db, clock=clock, mailer=mailer)
    reports.start()
    ctx.wake_reports = reports.wake
    engine_process = None
    worker = None
    if clock.virtual:
        ctx.drain = runner.drain
        ctx.wake = runner.wake
    elif settings.engine_process:
        # The engine gets its own process and core (see engine/process.py), built there
        # by `compose` too; on PostgreSQL it is a worker there, with its share of the
        # partitions, named as this process.
        engine_process = EngineProcess(
            functools.partial(_child, settings, None if scope is None else scope.name),
            database_url=settings.database_url,
            log_level=settings.log_level,
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
        reports=reports,
    )


def _child(settings: Settings, worker_name: str | None, *, figures: EngineFigures) -> ChildEngine:
    """What the spawned child calls (a partial of it crosses the pipe): `compose`."""
    return compose(settings, role="engine_child", figures=figures, worker_name=worker_name)


def _worker(settings: Settings, providers: Providers) -> Worker:
    """The engine alone, one of many, on PostgreSQL and the real clock. Migrates and
    starts the writer."""
    clock = RealClock()
    db = open_store(settings, migrate=False)
    figures = EngineFigures()
    scope = _lease_scope(db, clock, settings, figures)
    if scope is None:
        db.close()
        raise ValueError("tidings worker needs PostgreSQL")
    db.migrate()
    db.start()
    engine = _engine(settings, db, scope, figures)
    return Worker(db=db, runner=_runner(settings, db, clock, engine, providers), scope=scope)


def _engine_child(
    settings: Settings, providers: Providers, figures: EngineFigures, worker_name: str | None
) -> ChildEngine:
    """Serve's engine process on the real clock: the only engine of a SQLite file, or
    on PostgreSQL a worker named as the serve process (the parent migrated)."""
    clock = RealClock()
    db = open_store(settings, migrate=False)  # the parent migrated
    db.start()
    scope = _lease_scope(db, clock, settings, figures, name=worker_name)
    engine = _engine(settings, db, scope, figures)
    runner = _runner(settings, db, clock, engine, providers)
    worker = None if scope is None else Worker(db=db, runner=runner, scope=scope)
    return ChildEngine(runner=runner, worker=worker)


def _lease_scope(
    db: Database,
    clock: Clock,
    settings: Settings,
    figures: EngineFigures,
    *,
    name: str | None = None,
) -> LeaseScope | None:
    """On PostgreSQL with the real clock an engine leases its share of the partitions;
    otherwise it holds them all (embedded, or the virtual clock's single drain)."""
    if not several_engines(db.dialect) or clock.virtual:
        return None
    return LeaseScope(
        db=db,
        clock=clock,
        partitions=settings.partitions,
        lease_seconds=settings.lease_seconds,
        renew_seconds=settings.lease_renew_seconds,
        name=name,
        figures=figures,
    )


def _engine(
    settings: Settings,
    db: Database,
    scope: LeaseScope | None,
    figures: EngineFigures,
    *,
    interest: Interest | None = None,
) -> Engine:
    return Engine(
        db=db,
        partitions=settings.partitions,
        interest=interest,
        scope=scope,
        uniform_paths=settings.uniform_paths,
        sql_sends=settings.sql_sends,
        figures=figures,
    )


def _runner(
    settings: Settings, db: Database, clock: Clock, engine: Engine, providers: Providers
) -> Runner:
    return Runner(
        db=db,
        clock=clock,
        engine=engine,
        allow_private_urls=settings.allow_private_urls,
        trace_retention_days=settings.trace_retention_days,
        api_client=providers.call_api,
        public_url=settings.public_url,
        send_lease_seconds=settings.send_lease_seconds,
        send_ahead=settings.send_ahead,
        tracking=providers.tracking,
    )
