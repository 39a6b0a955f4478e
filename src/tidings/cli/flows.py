"""`tidings flows export | import | validate`: flows as files that live in git.

Export prints the canonical form (sorted keys, two-space indent), so an exported flow,
imported and exported again, is the same bytes. Validate needs no server: it checks a
file against the names a context file declares (or the database's, with --database).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from tidings.config import Settings
from tidings.domain.errors import InvalidInput, Problem, TidingsError
from tidings.domain.flows import (
    ValidationContext,
    canonical_json,
    load_text,
    parse_document,
    validate,
)
from tidings.domain.people import STANDARD_TYPES
from tidings.domain.values import ValueType

app = typer.Typer(help="Flows as files: export, import and validate.", no_args_is_help=True)


def _database() -> Any:
    from tidings.bootstrap import open_store

    return open_store(Settings())


def _fail(error: TidingsError) -> NoReturn:
    typer.echo(f"error: {error.message}", err=True)
    if isinstance(error, InvalidInput):
        _print_problems(error.problems, err=True)
    raise typer.Exit(1)


def _print_problems(problems: list[Problem], *, err: bool = False) -> None:
    for p in problems:
        where = " ".join(x for x in (p.element, p.field) if x)
        typer.echo(f"{where or '(flow)'}: {p.message}", err=err)


@app.command("export")
def export_flow(
    flow_id: int = typer.Argument(..., help="The flow's id."),
    version: int | None = typer.Option(None, help="Which version (default: the newest)."),
    account: int = typer.Option(1, help="The account id."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here instead of stdout."
    ),
) -> None:
    """Print a flow's document in canonical JSON."""
    from tidings.services.flow_views import read_document

    db = _database()
    try:
        with db.read() as conn:
            document = read_document(conn, account, flow_id, version)
        text = canonical_json(parse_document(document))
    except TidingsError as exc:
        _fail(exc)
    finally:
        db.close()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@app.command("import")
def import_flow(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON or YAML flow."),
    flow_id: int | None = typer.Option(None, "--flow", help="Replace this flow's draft version."),
    account: int = typer.Option(1, help="The account id."),
) -> None:
    """Create a draft flow from a file (or replace a flow's draft); print its id."""
    from tidings.clock import RealClock
    from tidings.domain.durations import to_micros
    from tidings.domain.flows import canonical_data
    from tidings.services import flows

    db = _database()
    now = to_micros(RealClock().now())
    try:
        doc = load_text(file.read_text(), file.name)
        with db.write_engine.begin() as conn:
            if flow_id is None:
                flow_id = flows.create_flow(conn, account, canonical_data(doc), now)["id"]
            else:
                flows.replace_document(conn, account, flow_id, doc, now)
    except TidingsError as exc:
        _fail(exc)
    finally:
        db.close()
    typer.echo(str(flow_id))


def context_from_file(path: Path) -> ValidationContext:
    """Names a flow may use, declared in JSON: {"events": {name: {prop: type}},
    "attributes": {name: type}, "segments": [names], "tags": [names],
    "catalogs": {name: {column: type}}, "flows": [ids]}."""
    data = json.loads(path.read_text())
    segments = data.get("segments", [])
    return ValidationContext(
        events={
            name: {k: ValueType(v) for k, v in props.items()}
            for name, props in data.get("events", {}).items()
        },
        attributes={
            **STANDARD_TYPES,
            **{k: ValueType(v) for k, v in data.get("attributes", {}).items()},
        },
        segments={i + 1: name for i, name in enumerate(segments)},
        tags=frozenset(data.get("tags", [])),
        catalogs={
            name: {k: ValueType(v) for k, v in columns.items()}
            for name, columns in data.get("catalogs", {}).items()
        },
        flows={int(f): True for f in data.get("flows", [])},
    )


@app.command("validate")
def validate_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON or YAML flow."),
    context: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="JSON declaring events, attributes, segments..."
    ),
    database: bool = typer.Option(False, help="Take the names from TIDINGS_DATABASE_URL."),
    account: int = typer.Option(1, help="The account id, with --database."),
) -> None:
    """Print every problem of a flow file; exit 1 when there is any (no server needed)."""
    try:
        doc = load_text(file.read_text(), file.name)
    except TidingsError as exc:
        _fail(exc)
    if database:
        from tidings.store.flow_context import validation_context

        db = _database()
        with db.read() as conn:
            ctx = validation_context(conn, account, flow_id=None)
        db.close()
    elif context is not None:
        ctx = context_from_file(context)
    else:
        ctx = ValidationContext()
    problems = validate(doc, ctx)
    if problems:
        _print_problems(problems)
        typer.echo(f"{len(problems)} problem{'s' if len(problems) > 1 else ''}", err=True)
        raise typer.Exit(1)
    typer.echo("no problems")
