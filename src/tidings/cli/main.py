"""`tidings serve | worker | migrate | keys | bench | simulate`."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import typer
from rich.console import Console

from tidings.cli.flows import app as flows_app
from tidings.cli.simulate import simulate
from tidings.config import Settings
from tidings.runtime import tune_runtime

app = typer.Typer(help="Tidings: customer-journey orchestration.", no_args_is_help=True)
keys = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys, name="keys")
app.add_typer(flows_app, name="flows")
app.command("simulate")(simulate)
console = Console(stderr=True)
T = TypeVar("T")


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    clock: str = typer.Option(None, help="real, virtual or virtual:INSTANT"),
) -> None:
    """Run the API, the engine and the web UI in one process."""
    import uvicorn

    from tidings.bootstrap import build

    settings = Settings() if clock is None else Settings(clock=clock)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    # httpx logs whole request URLs at INFO; a key in a query string must never reach logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    system = build(settings)
    url = f"http://{host}:{port}"
    console.print(
        f"Tidings on [bold]{url}[/bold]  (database: {system.db.dialect}, clock: "
        f"{'virtual' if system.clock.virtual else 'real'})"
    )
    if system.generated_key:
        console.print(f"API key (shown once; keep it): [bold]{system.generated_key}[/bold]")
    elif settings.api_key is not None:
        console.print("API key: the value of TIDINGS_API_KEY")
    # uvicorn stops gracefully on SIGTERM and then raises the signal again under the
    # handler it found; with the default one the process dies right there and the
    # `finally` below never runs (the engine, the writer and the database are not closed,
    # and SQLite keeps its WAL file). Ours turns the re-raised signal into an exit.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    tune_runtime(engine=False)  # on SQLite its engine runs in a process of its own
    try:
        uvicorn.run(
            system.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
    finally:
        system.close()


@app.command()
def worker(
    metrics_port: int = typer.Option(
        9464,
        min=0,
        max=65535,
        help="Serve this worker's Prometheus metrics on this port (GET /metrics); 0: off.",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", help="The address the metrics port listens on (0.0.0.0: every one)."
    ),
) -> None:
    """Run the engine alone, one worker among many, for scale-out on PostgreSQL."""
    import threading

    from tidings.bootstrap import build_worker
    from tidings.store.dialect import dialect_of, several_engines

    settings = Settings()
    if not several_engines(dialect_of(settings.database_url)):
        console.print(
            "[red]tidings worker needs PostgreSQL[/red] (TIDINGS_DATABASE_URL="
            "postgresql+psycopg://user@host:port/db). On SQLite the engine inside "
            "`tidings serve` is the only worker."
        )
        raise typer.Exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running = build_worker(settings)
    tune_runtime(engine=True)
    try:
        running.start()
        console.print(
            f"Tidings worker [bold]{running.name}[/bold]: {settings.partitions} partitions "
            f"shared by the live workers, leases of {settings.lease_seconds:g} s"
        )
        if metrics_port:
            try:
                served = running.serve_metrics(metrics_host, metrics_port)
                console.print(f"metrics at http://{metrics_host}:{served}/metrics")
            except OSError as exc:  # e.g. a second worker on this host: it works anyway
                console.print(
                    f"[yellow]no metrics:[/yellow] {metrics_host}:{metrics_port}: {exc} "
                    "(give each worker of a host its own --metrics-port)"
                )
        while not stop.wait(1.0):
            pass
    finally:
        running.stop()
        running.db.close()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from tidings.bootstrap import open_store

    open_store(Settings()).close()
    console.print("schema is up to date")


@keys.command("create")
def create_key(
    name: str = typer.Option("cli", help="A label for the key."),
    account: int = typer.Option(1, help="The account id."),
    admin: bool = typer.Option(
        False,
        help="An admin key also manages the account, its keys, connections and "
        "sub-accounts and reads MEP.",
    ),
) -> None:
    """Create an API key and print it (it is shown only this once)."""
    from tidings.clock import RealClock
    from tidings.domain.durations import to_micros
    from tidings.services import keys as service

    now = to_micros(RealClock().now())
    created = _on_store(
        lambda conn: service.create_key(conn, account, name=name, admin=admin, now=now)
    )
    typer.echo(created["key"])


@keys.command("list")
def list_keys(account: int = typer.Option(1, help="The account id.")) -> None:
    """List the account's keys (never their secrets): id, name, admin, first characters,
    created, last used."""
    from tidings.services import keys as service

    for key in _on_store(lambda conn: service.list_keys(conn, account)):
        admin = "admin" if key["admin"] else "-"
        used = key["lastUsedAt"] or "never used"
        typer.echo(
            f"{key['id']}\t{key['name']}\t{admin}\t{key['prefix']}…\t{key['createdAt']}\t{used}"
        )


def _on_store(use_case: Callable[[Any], T]) -> T:
    """Run a use case in one transaction of the configured database; an unknown account
    (or any domain error) is a message and exit status 1."""
    from tidings.bootstrap import open_store
    from tidings.domain.errors import NotFound, TidingsError

    db = open_store(Settings())
    try:
        with db.write_engine.begin() as conn:
            return use_case(conn)
    except NotFound as exc:
        console.print(f"[red]{exc.message}[/red] (start `tidings serve` once to create it)")
        raise typer.Exit(1) from None
    except TidingsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.close()


def main() -> None:
    """The `tidings` command. A database that cannot be reached (not running, a wrong
    host, port or password, a SQLite file in a folder that does not exist) is said in
    one line, with the URL's password hidden, and exit status 1: not a page of
    traceback."""
    from sqlalchemy.exc import DBAPIError

    from tidings.store.outage import reason, unavailable

    try:
        app()
    except DBAPIError as exc:
        if not unavailable(exc):
            raise
        console.print(
            f"[red]tidings: cannot reach the database[/red] {_shown_url()}: {reason(exc)}",
            soft_wrap=True,
        )
        raise SystemExit(1) from None


def _shown_url() -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(Settings().database_url).render_as_string(hide_password=True)
    except Exception:  # a URL that does not parse is said by the error itself
        return "(TIDINGS_DATABASE_URL)"


bench = typer.Typer(help="Benchmark workloads; each prints one JSON line.", no_args_is_help=True)
app.add_typer(bench, name="bench")


@bench.command("ingest")
def bench_ingest(
    events: int = typer.Option(100_000, help="How many events to post."),
    batch: int = typer.Option(1000, help="Events per request (1 sends single objects)."),
    concurrency: int = typer.Option(0, help="Concurrent clients (default: 4, or 32 for batch 1)."),
) -> None:
    """Post events to a fresh server on SQLite; print events/s, latency and peak RSS."""
    from tidings.bench import ingest

    ingest.main(events, batch, concurrency or (32 if batch == 1 else 4))


@bench.command("launch")
def bench_launch(people: int = typer.Option(1_000_000, help="Audience size.")) -> None:
    """Launch a predefined audience; time until every first SMS reaches the sandbox."""
    from tidings.bench import launch

    launch.main(people)


@bench.command("mep")
def bench_mep(
    people: int = typer.Option(2_000_000, help="Engaged persons in the month."),
    calls: int = typer.Option(100, help="GET /mep calls timed."),
    report: bool = typer.Option(True, help="Also stream the month's MEP report rows."),
) -> None:
    """A month of engaged persons in the store: GET /mep p50/p99, and the MEP report's
    rows streamed (rows/s, RSS)."""
    from tidings.bench import mep

    mep.main(people, calls, report)


@bench.command("dispatch")
def bench_dispatch(
    provider: str = typer.Option("infobip", help="infobip or smtp (a loopback stand-in)."),
    messages: int = typer.Option(
        0, help="Messages (default: 1,000,000 for infobip, 100,000 for smtp)."
    ),
    compare: bool = typer.Option(True, help="Also run the same launch to the sandbox."),
) -> None:
    """A launch whose messages go out through a provider connection: messages/s accepted
    by the provider and delivery reports/s ingested."""
    import json

    from tidings.bench import dispatch

    count = messages or (100_000 if provider == "smtp" else 1_000_000)
    print(json.dumps(dispatch.run(provider=provider, messages=count, compare=compare)), flush=True)


@bench.command("journeys-http")
def bench_journeys_http(
    seconds: float = typer.Option(20.0, help="How long the clients post."),
    clients: int = typer.Option(32, help="Concurrent clients, one event per request."),
    rate: float = typer.Option(
        None, help="Offered events/s in total (default: as fast as possible)."
    ),
    events: int = typer.Option(
        None, help="Post this many events, then stop (instead of --seconds)."
    ),
    database: str = typer.Option(
        "sqlite", help="sqlite, or postgresql (a throwaway cluster from the local binaries)."
    ),
) -> None:
    """Event -> segment -> call_api to a loopback sink; print journeys/s (each 5 s: the
    timeline) and latency."""
    from tidings.bench import journeys_http

    if database not in ("sqlite", "postgresql"):
        console.print("[red]--database is sqlite or postgresql[/red]")
        raise typer.Exit(2)
    journeys_http.main(seconds, clients, rate, events, database)


def _workload(kind: str, n: int) -> None:
    from tidings.bench import workloads

    workloads.main(kind, n)


@bench.command("timers")
def bench_timers(people: int = typer.Option(1_000_000, help="People waiting.")) -> None:
    """People in a one-day wait, all due at once: wakes per second."""
    _workload("timers", people)


@bench.command("waits")
def bench_waits(people: int = typer.Option(1_000_000, help="People waiting for an event.")) -> None:
    """People in wait_for_event, one matching event each: matches per second."""
    _workload("waits", people)


@bench.command("events")
def bench_events(
    events: int = typer.Option(1_000_000, help="Events to post."),
    database: str = typer.Option(
        "sqlite", help="sqlite, or postgresql (a throwaway cluster from the local binaries)."
    ),
    workers: int | None = typer.Option(
        None, min=1, help="PostgreSQL: how many `tidings worker` processes do the engine work."
    ),
) -> None:
    """Event-triggered entries end to end (condition, branch, send): events per second.
    On PostgreSQL the events are ingested directly and `--workers` processes work them."""
    if database == "sqlite" and workers is None:
        _workload("events", events)
        return
    if database != "postgresql":
        console.print("[red]--workers needs --database postgresql[/red]")
        raise typer.Exit(2)
    import json

    from tidings.bench import scale_out

    print(json.dumps(scale_out.events_on_postgresql(events, workers or 1)), flush=True)


@bench.command("parked")
def bench_parked(people: int = typer.Option(10_000_000, help="People parked in waits.")) -> None:
    """People parked in waits: the store's size and the server's RSS."""
    _workload("parked", people)


@bench.command("test-run")
def bench_test_run(
    people: int = typer.Option(1000, help="Synthetic people of each run (≤ 1000)."),
    days: int = typer.Option(90, help="Days on the run's clock (≤ 90)."),
    runs: int = typer.Option(3, help="Runs timed."),
) -> None:
    """The web app's Test run at its bounds: seconds per run, and the latency of other
    requests meanwhile (the run works in the threadpool)."""
    import json

    from tidings.bench import test_run

    print(json.dumps(test_run.run(people, days, runs)), flush=True)


@bench.command("sftp-import")
def bench_sftp_import(
    rows: int = typer.Option(1_000_000, help="Rows of the CSV file imported."),
) -> None:
    """A CSV of N people on a loopback SFTP server imported by an sftp entry: rows/s into
    the flow (people created and entered)."""
    from tidings.bench import sftp_import

    sftp_import.main(rows)


@bench.command("performance")
def bench_performance(
    participations: int = typer.Option(10_000_000, help="Participations in the store."),
    people: int = typer.Option(2_000_000, help="People they belong to (re-entries)."),
    calls: int = typer.Option(100, help="Calls timed for each answer."),
) -> None:
    """The flow performance answer (all versions, channels, a 90-day daily series) of a
    flow with millions of participations and their events: p50/p99 latency."""
    import json

    from tidings.bench import performance

    result = performance.run(participations=participations, people=people, calls=calls)
    print(json.dumps(result), flush=True)


@bench.command("report")
def bench_report(
    rows: int = typer.Option(1_000_000, help="Participations of the flow (rows of the report)."),
    format: str = typer.Option("csv", help="csv or xlsx"),
    runs: int = typer.Option(3, help="Reports asked for at each size (the median is given)."),
) -> None:
    """The people report of a flow with a million participations, built in the
    background: seconds until ready, and the server's peak RSS at 100,000 rows and at
    `rows` (issue #17: ≤ 30 s CSV, ≤ 90 s XLSX, memory flat in the rows)."""
    import json

    from tidings.bench import report

    if format not in report.TARGET_SECONDS:
        raise typer.BadParameter("csv or xlsx", param_hint="--format")
    result = report.run(rows=rows, fmt=format, runs=runs)
    print(json.dumps(result), flush=True)
