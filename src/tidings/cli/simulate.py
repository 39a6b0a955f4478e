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

Exit status: 0 when the simulation ran, 1 when the flow does not validate (its problems
are printed), 2 when an input file cannot be used.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import typer

NAMES = ("Ana", "Ivo", "Petra", "Marko", "Maja", "Luka", "Iva", "Josip", "Nina", "Tomislav")
KEY = "tdk_simulate_local_key_of_a_throwaway_store"
CHUNK = 1000  # people or events per request (the API's limit)
SEND_TYPES = ("send_sms", "send_email", "send_whatsapp", "send_viber", "voice_call", "failover")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,14})(\.\d{1,15})?$")


class BadInput(Exception):
    """An input file or option that cannot be used; the message says where and why."""


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# --- inputs -----------------------------------------------------------------------------------


@dataclass
class Event:
    person: str  # an externalId, or "*" for every person
    name: str | None  # None: a Flow API entry (with `variables`)
    properties: dict[str, Any]
    at: datetime
    variables: dict[str, Any] = field(default_factory=dict)


def parse_at(value: Any, start: datetime, where: str) -> datetime:
    """An offset from the start (`PT2H`, `P1D`) or an instant with its offset."""
    from tidings.domain.durations import parse_duration, parse_instant

    if value is None:
        return start
    if not isinstance(value, str):
        raise BadInput(f"{where}: at must be a duration such as PT2H or an instant")
    try:
        if value.startswith(("P", "-P")):
            return start + parse_duration(value)
        return parse_instant(value)
    except ValueError as exc:
        raise BadInput(f"{where}: at: {exc}") from None


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


def synthetic_people(count: int) -> list[dict[str, Any]]:
    """`count` people p1..pN with a first name, a phone number and an email address."""
    return [
        {
            "externalId": f"p{i}",
            "firstName": NAMES[(i - 1) % len(NAMES)],
            "phones": [f"+38591{i:07d}"],
            "emails": [f"p{i}@example.com"],
        }
        for i in range(1, count + 1)
    ]


def value_type(value: Any) -> str | None:
    """The ValueType name a JSON value suggests (None for objects and nulls)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        if _DATE.match(value):
            return "date"
        if _INSTANT.match(value):
            return "datetime"
        return "text"
    return None


def infer_types(samples: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Property -> type over several objects: integers and decimals mix to decimal, any
    other disagreement reads as text."""
    found: dict[str, str] = {}
    for sample in samples:
        for name, value in sample.items():
            kind = value_type(value)
            if kind is None:
                continue
            seen = found.get(name)
            if seen is None or seen == kind:
                found[name] = kind
            elif {seen, kind} == {"integer", "decimal"}:
                found[name] = "decimal"
            else:
                found[name] = "text"
    return found


def flow_events(document: Mapping[str, Any]) -> set[str]:
    """The custom events a flow document names (entry, goal, wait_for_event)."""
    names: set[str] = set()
    entry = document.get("entry") or {}
    if entry.get("type") == "event" and isinstance(entry.get("event"), str):
        names.add(entry["event"])
    goal = (document.get("settings") or {}).get("goal") or {}
    if isinstance(goal.get("event"), str):
        names.add(goal["event"])
    for element in document.get("elements") or []:
        if isinstance(element, dict) and isinstance(element.get("event"), str):
            names.add(element["event"])
    return {name for name in names if not name.startswith("message.")}


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Plan:
    document: dict[str, Any]
    people: list[dict[str, Any]]
    events: list[Event]
    start: datetime
    end: datetime
    context: dict[str, Any]
    timezone: str | None
    sandbox: dict[str, Any]
    samples: int
    call_apis: bool


class Simulation:
    """The throwaway system and an in-process client of its API."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.notes: list[str] = []
        self.flow_id = 0

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = await self.client.request(method, "/api/v1" + path, json=body, params=params)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    async def declare(self, plan: Plan) -> None:
        """Event and attribute definitions: the --context file's, then what the events
        and people files show, then the flow's events with no properties."""
        events: dict[str, dict[str, str]] = {
            name: dict(props) for name, props in (plan.context.get("events") or {}).items()
        }
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in plan.events:
            if event.name is not None:
                by_name[event.name].append(event.properties)
        for name, samples in by_name.items():
            if name.startswith("message."):
                continue
            inferred = infer_types(samples)
            events[name] = {**inferred, **events.get(name, {})}
        for name in flow_events(plan.document):
            events.setdefault(name, {})
        for name, props in sorted(events.items()):
            await self.call("POST", "/event-definitions", {"name": name, "properties": props})
        attributes = infer_types(p.get("attributes") or {} for p in plan.people)
        attributes.update(plan.context.get("attributes") or {})
        for name, kind in sorted(attributes.items()):
            await self.call("POST", "/attributes", {"name": name, "type": kind})

    async def people(self, people: list[dict[str, Any]]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in _chunks(people):
            answer = await self.call("POST", "/people/batch", chunk)
            for person, item in zip(chunk, answer["items"], strict=True):
                if item.get("status") == "refused":
                    raise BadInput(f"person {person['externalId']}: {item['error']['message']}")
                ids[person["externalId"]] = int(item["id"])
        return ids

    async def launch(self, document: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """The launched flow, or the problems that keep it from launching."""
        created = await self.call("POST", "/flows", document)
        problems = await self.call("POST", f"/flows/{created['id']}/validate")
        if problems["problems"]:
            found: list[dict[str, Any]] = problems["problems"]
            return found
        launched: dict[str, Any] = await self.call("POST", f"/flows/{created['id']}/launch")
        return launched

    async def advance(self, to: datetime) -> None:
        await self.call("POST", "/clock/advance", {"to": to.isoformat()})

    async def post_events(self, events: list[Event], people: list[str], at: datetime) -> None:
        flow_api = [e for e in events if e.name is None]
        named = [e for e in events if e.name is not None]
        bodies = [
            {
                "person": {"externalId": who},
                "name": event.name,
                "properties": event.properties,
                "time": at.isoformat(),
            }
            for event in named
            for who in (people if event.person == "*" else [event.person])
        ]
        for chunk in _chunks(bodies):
            answer = await self.call("POST", "/events", chunk)
            for body, item in zip(chunk, answer["items"], strict=True):
                if item.get("status") == "refused":
                    who = body["person"]["externalId"]
                    raise BadInput(f"event {body['name']} of {who}: {item['error']['message']}")
        for event in flow_api:
            for who in people if event.person == "*" else [event.person]:
                await self.enter(who, event.variables)

    async def enter(self, who: str, variables: dict[str, Any]) -> None:
        body = {"person": {"externalId": who}, "variables": variables}
        await self.call("POST", f"/flows/{self.flow_id}/participants", body)

    async def samples(self, flow: int, sends: list[str], wanted: int) -> list[dict[str, Any]]:
        """One rendered message per element that sent any, in element order, at most
        `wanted`."""
        first: dict[str, dict[str, Any]] = {}
        offset = 0
        for _ in range(20):  # at most 20,000 messages are looked through
            page = await self.call("GET", "/sandbox/messages", flow=flow, limit=1000, offset=offset)
            for message in page["items"]:
                first.setdefault(message["element"], message)
            if not page["hasMore"] or all(s in first for s in sends):
                break
            offset += 1000
        ordered = [first[e] for e in sends if e in first]
        ordered += [m for e, m in first.items() if e not in sends]
        return [_sample(m) for m in ordered[:wanted]]


def _sample(message: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("element", "channel", "to", "from", "text", "subject", "html", "say", "parts")
    return {k: message[k] for k in keep if message.get(k) is not None}


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


async def _run(plan: Plan, system: Any) -> dict[str, Any]:
    import httpx

    transport = httpx.ASGITransport(app=system.app)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://simulate", headers=headers, timeout=3600
    ) as client:
        sim = Simulation(client)
        if plan.timezone:
            await sim.call("PATCH", "/account", {"timezone": plan.timezone})
        if plan.sandbox:
            await sim.call("PATCH", "/sandbox/settings", plan.sandbox)
        await sim.declare(plan)
        ids = await sim.people(plan.people)
        launched = await sim.launch(plan.document)
        if isinstance(launched, list):
            return {"problems": launched}
        flow = int(launched["id"])
        sim.flow_id = flow
        everyone = list(ids)
        entry = (plan.document.get("entry") or {}).get("type")
        events = sorted(plan.events, key=lambda e: e.at)
        unknown = sorted({e.person for e in events if e.person != "*" and e.person not in ids})
        if unknown:
            raise BadInput(f"events name people who are not in the simulation: {unknown[:5]}")
        if entry == "api" and not any(e.name is None for e in events):
            events.insert(0, Event("*", None, {}, plan.start))  # everyone enters at the start
        late = [e for e in events if e.at > plan.end]
        early = [e for e in events if e.at < plan.start]
        if late:
            sim.notes.append(f"{len(late)} events after the end were not sent")
        if early:
            raise BadInput(f"an event at {early[0].at.isoformat()} is before the start")
        by_time: dict[datetime, list[Event]] = defaultdict(list)
        for event in events:
            if event.at <= plan.end:
                by_time[event.at].append(event)
        await sim.advance(plan.start)
        for at in sorted(by_time):
            await sim.advance(at)
            await sim.post_events(by_time[at], everyone, at)
        await sim.advance(plan.end)
        performance = await sim.call("GET", f"/flows/{flow}/performance")
        document = launched["document"]
        elements = []
        for element in document.get("elements") or []:
            counts = performance["elements"].get(element["id"], {})
            row = {
                "id": element["id"],
                "type": element["type"],
                "name": element.get("name"),
                "totalEngagements": counts.get("totalEngagements", 0),
                "uniqueEngagements": counts.get("uniqueEngagements", 0),
                "messagesSent": counts.get("messagesSent", 0),
            }
            row.update({k: v for k, v in counts.items() if k not in row and v})
            elements.append(row)
        sends = [e["id"] for e in elements if e["type"] in (*SEND_TYPES, "notify")]
        samples = await sim.samples(flow, sends, plan.samples) if plan.samples else []
        if entry == "event" and not plan.events:
            sim.notes.append("the flow starts on an event: give --events to make people enter")
        if not plan.call_apis and any(e["type"] == "call_api" for e in elements):
            sim.notes.append("call_api was answered by the simulator (200, {}): --call-apis")
        return {
            "flow": {"id": flow, "name": document.get("name"), "version": launched["version"]},
            "start": _instant(plan.start),
            "end": _instant(plan.end),
            "people": len(ids),
            "performance": performance["flow"],
            "elements": elements,
            "samples": samples,
            "notes": sim.notes,
        }


def _instant(moment: datetime) -> str:
    from tidings.domain.durations import format_instant

    return format_instant(moment)


def run_plan(plan: Plan) -> dict[str, Any]:
    """Build the throwaway system, run the simulation, and tear it all down."""
    import logging

    from tidings.bootstrap import Providers, compose
    from tidings.clock import VirtualClock
    from tidings.config import Settings

    logging.getLogger("tidings").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tidings-simulate-") as folder:
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'simulate.db'}",
            api_key=KEY,
            clock="virtual",
        )
        # call_api is answered by the simulator unless --call-apis (Providers.answering)
        providers = Providers() if plan.call_apis else Providers.answering()
        system = compose(
            settings, role="simulate", clock=VirtualClock(plan.start), providers=providers
        )
        try:
            return asyncio.run(_run(plan, system))
        finally:
            system.close()


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
        result = run_plan(plan)
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
