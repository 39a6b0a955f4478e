"""`tidings simulate FLOW.json --people N --days D [--events FILE]`: run a flow on a virtual
clock in a throwaway store and print what would happen.

A whole Tidings (store, engine, API) is built in a temporary folder on SQLite with a
virtual clock and driven through its public API in-process (httpx's ASGI transport): the
event and attribute definitions the flow needs are declared, N people are created (or
read from `--people-file`), the flow is launched, the events of `--events` are posted at
their instants and the clock is moved D days, the engine doing everything due on the way.
Then the flow's performance is printed per element, with a few rendered messages from the
sandbox provider. Nothing leaves the machine: messages go to the sandbox, and `call_api`
is answered by the simulator (200, `{}`) unless `--call-apis` is given.

The run itself is `services/test_runs.py` (which the web app's Test run uses too); this
module reads the files and options and prints the answer.

Exit status: 0 when the simulation ran, 1 when the flow does not validate (its problems
are printed), 2 when an input file cannot be used.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import typer

from tidings.services.test_runs import (
    BadInput,
    Event,
    Plan,
    parse_at,
    run_plan,
    synthetic_people,
)

_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,14})(\.\d{1,15})?$")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# --- inputs -----------------------------------------------------------------------------------


def read_events(path: Path, start: datetime) -> list[Event]:
    """JSON lines: {"person": "p1" | {"externalId": "p1"} | "*", "name": "CartAbandoned",
    "properties": {...}, "at": "PT2H"}; a line without a name and with "variables" (or
    "enter": true) enters the person through the Flow API instead."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from None
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        where = f"{path.name} line {number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise BadInput(f"{where}: each line is one JSON object")
        who = data.get("person")
        if isinstance(who, dict):
            who = who.get("externalId")
        if not isinstance(who, str) or not who:
            raise BadInput(f'{where}: person must be an externalId, {{"externalId": ...}} or "*"')
        name = data.get("name")
        variables = data.get("variables") or {}
        if name is None and not (data.get("enter") or variables):
            raise BadInput(f"{where}: name the event (or give variables to enter the flow)")
        if name is not None and not isinstance(name, str):
            raise BadInput(f"{where}: name must be a text")
        properties = data.get("properties") or {}
        if not isinstance(properties, dict) or not isinstance(variables, dict):
            raise BadInput(f"{where}: properties and variables must be JSON objects")
        events.append(
            Event(who, name, properties, parse_at(data.get("at"), start, where), variables)
        )
    return events


def _typed(raw: str) -> Any:
    """A CSV cell as the JSON value it reads as: numbers written plainly (not `+385…` or
    `007`, which are texts), true/false, else text."""
    text = raw.strip()
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return raw


STANDARD_COLUMNS = ("externalId", "firstName", "lastName", "gender", "birthDate", "country")


def read_people(path: Path) -> list[dict[str, Any]]:
    """People as the API takes them: a JSON list of person objects, or a CSV with a header
    (`externalId`, standard attributes, `phone`/`phones`, `email`/`emails`, `tags`; several
    values split by `;`; any other column is a custom attribute)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path.name}: not JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise BadInput(f"{path.name}: a JSON list of people, each an object")
        people: list[dict[str, Any]] = data
    else:
        people = []
        for row in csv.DictReader(io.StringIO(text)):
            person: dict[str, Any] = {}
            attributes: dict[str, Any] = {}
            for column, cell in row.items():
                if column is None or cell is None or cell == "":
                    continue
                if column in STANDARD_COLUMNS:
                    person[column] = cell
                elif column in ("phone", "phones", "email", "emails", "tags"):
                    key = column if column.endswith("s") else column + "s"
                    person[key] = [part.strip() for part in cell.split(";") if part.strip()]
                elif column == "timezone":
                    person["timezone"] = cell
                else:
                    attributes[column] = _typed(cell)
            if attributes:
                person["attributes"] = attributes
            people.append(person)
    for index, person in enumerate(people):
        person.setdefault("externalId", f"p{index + 1}")
    if not people:
        raise BadInput(f"{path.name}: no people")
    return people


# --- printing ---------------------------------------------------------------------------------


def render_text(result: Mapping[str, Any], days: float) -> str:
    out: list[str] = []
    flow = result["flow"]
    out.append(
        f'Flow "{flow["name"]}": {result["people"]} people, {days:g} day{"s" * (days != 1)} '
        f"from {result['start']} to {result['end']} (virtual clock)"
    )
    perf = result["performance"]
    parts = [
        f"entered {perf.get('profilesInFlow', 0)}",
        f"exited {perf.get('profilesExited', 0)}",
        f"messages {perf.get('messagesSent', 0)}",
        f"active {perf.get('activeProfiles', 0)}",
        f"goal {perf.get('goalPerformers', 0)} (value {perf.get('goalValue', 0):g})",
    ]
    refused = perf.get("refusedEntries") or {}
    if refused:
        parts.append("refused " + ", ".join(f"{k} {v}" for k, v in sorted(refused.items())))
    out.append("  " + " | ".join(parts))
    out.append("")
    rows = [("element", "type", "engaged", "unique", "messages", "other")]
    for e in result["elements"]:
        basic = ("id", "type", "name", "totalEngagements", "uniqueEngagements", "messagesSent")
        other = ", ".join(f"{k} {_short(v)}" for k, v in e.items() if k not in basic)
        rows.append(
            (
                e["id"],
                e["type"],
                str(e["totalEngagements"]),
                str(e["uniqueEngagements"]),
                str(e["messagesSent"]),
                other,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            *(row[i].rjust(widths[i]) for i in (2, 3, 4)),
        ]
        out.append(("  " + "  ".join(cells) + ("  " + row[5] if row[5] else "")).rstrip())
    if result["samples"]:
        out.append("")
        out.append("Sample messages:")
        for sample in result["samples"]:
            body = sample.get("text") or sample.get("subject") or sample.get("say") or ""
            if "subject" in sample and "html" in sample:
                body = f"{sample['subject']} | {sample['html']}"
            out.append(
                f"  {sample['element']} ({sample['channel']} to {sample['to']}): {_one_line(body)}"
            )
    for note in result.get("notes") or []:
        out.append(f"note: {note}")
    return "\n".join(out) + "\n"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {v}" for k, v in sorted(value.items())) + "}"
    return str(value)


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- the command ------------------------------------------------------------------------------


def simulate(
    flow_file: Path = typer.Argument(..., metavar="FLOW", help="The flow (JSON or YAML)."),
    people: int = typer.Option(100, "--people", min=0, max=100_000, help="Synthetic people."),
    days: float = typer.Option(7.0, "--days", min=0, max=3660, help="How long to run."),
    events: Path | None = typer.Option(
        None, "--events", help='JSON lines: {"person", "name", "properties", "at": "PT2H"}.'
    ),
    people_file: Path | None = typer.Option(
        None, "--people-file", help="People as a JSON list or a CSV (instead of --people)."
    ),
    context: Path | None = typer.Option(
        None, "--context", help="Event and attribute types, as for `tidings flows validate`."
    ),
    start: str | None = typer.Option(
        None, "--start", help="The virtual clock's start (default 2026-01-05T00:00:00Z)."
    ),
    timezone: str | None = typer.Option(None, "--timezone", help="The account's time zone."),
    delivered: float | None = typer.Option(None, min=0, max=1, help="Share delivered."),
    seen: float | None = typer.Option(None, min=0, max=1, help="Share of delivered seen."),
    clicked: float | None = typer.Option(None, min=0, max=1, help="Share of seen clicked."),
    samples: int = typer.Option(5, "--samples", min=0, max=100, help="Messages to show."),
    call_apis: bool = typer.Option(False, "--call-apis", help="Let call_api really call."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Run a flow on a virtual clock in a throwaway store; print per-element counts and
    sample messages. Exit 1 when the flow does not validate."""
    from tidings.clock import VIRTUAL_EPOCH
    from tidings.domain.durations import parse_instant
    from tidings.domain.errors import TidingsError
    from tidings.domain.flows import canonical_data, load_text

    try:
        document = canonical_data(load_text(flow_file.read_text(encoding="utf-8"), flow_file.name))
    except OSError as exc:
        _fail(f"{flow_file}: {exc.strerror}")
    except TidingsError as exc:
        why = "; ".join(p.message for p in _problems(exc)) or exc.message
        _fail(f"{flow_file.name}: {why}", 1)
    try:
        begin = parse_instant(start) if start else VIRTUAL_EPOCH
        plan = Plan(
            document=document,
            people=read_people(people_file) if people_file else synthetic_people(people),
            events=read_events(events, begin) if events else [],
            start=begin,
            end=begin + timedelta(days=days),
            context=_context(context),
            timezone=timezone,
            sandbox={
                k: v
                for k, v in (("delivered", delivered), ("seen", seen), ("clicked", clicked))
                if v is not None
            },
            samples=samples,
            call_apis=call_apis,
        )
        result = _run_quietly(plan)
    except ValueError as exc:
        _fail(str(exc))
    except BadInput as exc:
        _fail(str(exc))
    if "problems" in result:
        if as_json:
            typer.echo(json.dumps({"valid": False, "problems": result["problems"]}, indent=2))
        else:
            for problem in result["problems"]:
                where = " ".join(x for x in (problem.get("element"), problem.get("field")) if x)
                typer.echo(f"{where or '(flow)'}: {problem['message']}", err=True)
            count = len(result["problems"])
            typer.echo(f"the flow does not validate: {count} problem{'s' * (count > 1)}", err=True)
            if any("unknown" in p["message"] for p in result["problems"]):
                typer.echo(
                    "hint: event properties and person attributes are declared by --context "
                    "(as for `tidings flows validate`), or read from --events and --people-file",
                    err=True,
                )
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"valid": True, "days": days, **result}, indent=2, default=str))
    else:
        typer.echo(render_text(result, days), nl=False)


def _run_quietly(plan: Plan) -> dict[str, Any]:
    """The run on `bootstrap.simulation_system`, the throwaway system's logs silenced."""
    import logging

    from tidings.bootstrap import simulation_system

    logging.getLogger("tidings").setLevel(logging.ERROR)
    return run_plan(plan, simulation_system)


def _problems(exc: Any) -> list[Any]:
    return list(getattr(exc, "problems", []) or [])


def _context(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path.name}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path.name}: a JSON object with events and attributes")
    return data
