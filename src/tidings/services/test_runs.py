"""Test runs: a flow run on a virtual clock in a throwaway system, the core of `tidings
simulate` and of `POST /flows/{id}/test-runs`.

A whole Tidings (store, engine, API) is built in a temporary folder on SQLite with a
virtual clock by the caller's factory (`bootstrap.simulation_system`; this layer may not
import the composition root) and driven through its public API in-process (httpx's ASGI
transport): the event and attribute definitions the flow needs are declared, the people
are created, the flow is launched, the events are posted at their instants and the clock
is moved to the end, the engine doing everything due on the way. The answer is the flow's
performance per element with a few rendered messages from the sandbox provider. Nothing
leaves the machine and nothing touches the caller's store: messages go to the throwaway's
sandbox, and `call_api` is answered by the simulator (200, `{}`) unless `call_apis`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

NAMES = ("Ana", "Ivo", "Petra", "Marko", "Maja", "Luka", "Iva", "Josip", "Nina", "Tomislav")
KEY = "tdk_simulate_local_key_of_a_throwaway_store"
CHUNK = 1000  # people or events per request (the API's limit)
STEP = timedelta(days=1)  # how far the clock moves between two looks at the time limit
SEND_TYPES = ("send_sms", "send_email", "send_whatsapp", "send_viber", "voice_call", "failover")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


class BadInput(Exception):
    """An input file or option that cannot be used; the message says where and why,
    `field` which part of a request (the API's answer names it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Refused(RuntimeError):
    """The throwaway system refused a request (4xx): `message` is its error's."""

    def __init__(self, method: str, path: str, status: int, text: str) -> None:
        super().__init__(f"{method} {path}: {status} {text}")
        self.status = status
        try:
            self.message = str(json.loads(text)["error"]["message"])
        except (ValueError, KeyError, TypeError):
            self.message = text[:300]


class TooLong(Exception):
    """The run passed its time limit (`Plan.deadline`)."""


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
    deadline: float | None = None
    """`time.monotonic()` past which the run stops (TooLong); None: no limit."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """How the notes name the inputs (`events`, `call_apis`): the CLI's options."""


class Simulation:
    """The throwaway system and an in-process client of its API."""

    def __init__(self, client: Any, plan: Plan) -> None:
        self.client = client
        self.notes: list[str] = []
        self.flow_id = 0
        self.hints = plan.hints
        self.deadline = plan.deadline
        self.now = plan.start

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = await self.client.request(method, "/api/v1" + path, json=body, params=params)
        if answer.status_code >= 300:
            raise Refused(method, path, answer.status_code, answer.text)
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
            try:
                await self.call("POST", "/event-definitions", {"name": name, "properties": props})
            except Refused as exc:
                raise BadInput(f"event {name}: {exc.message}", self.hints.get("events")) from None
        attributes = infer_types(p.get("attributes") or {} for p in plan.people)
        attributes.update(plan.context.get("attributes") or {})
        for name, kind in sorted(attributes.items()):
            try:
                await self.call("POST", "/attributes", {"name": name, "type": kind})
            except Refused as exc:
                where = self.hints.get("people")
                raise BadInput(f"attribute {name}: {exc.message}", where) from None

    async def people(self, people: list[dict[str, Any]]) -> dict[str, int]:
        ids: dict[str, int] = {}
        offset = 0
        for chunk in _chunks(people):
            answer = await self.call("POST", "/people/batch", chunk)
            for index, (person, item) in enumerate(zip(chunk, answer["items"], strict=True)):
                if item.get("status") == "refused":
                    error = item["error"]
                    where = ".".join(
                        str(part) for part in (self.hints.get("people", "people"), offset + index)
                    )
                    details = error.get("details") or []
                    if details and details[0].get("field"):
                        where += "." + str(details[0]["field"])
                    raise BadInput(f"person {person['externalId']}: {error['message']}", where)
                ids[person["externalId"]] = int(item["id"])
            offset += len(chunk)
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
        """Move the clock to `to`, doing all work due; with a deadline in steps of
        STEP, stopping (TooLong) once the deadline has passed."""
        if self.deadline is None:
            await self.call("POST", "/clock/advance", {"to": to.isoformat()})
            self.now = max(self.now, to)
            return
        while True:
            self._check_time()
            step = min(to, self.now + STEP)
            await self.call("POST", "/clock/advance", {"to": step.isoformat()})
            self.now = max(self.now, step)
            if step >= to:
                return

    def _check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TooLong(f"the run stopped at {_instant(self.now)}, past its time limit")

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
                    raise BadInput(
                        f"event {body['name']} of {who}: {item['error']['message']}",
                        self.hints.get("events", "events"),
                    )
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
        sim = Simulation(client, plan)
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
            raise BadInput(
                f"events name people who are not in the simulation: {unknown[:5]}",
                sim.hints.get("events", "events"),
            )
        if entry == "api" and not any(e.name is None for e in events):
            events.insert(0, Event("*", None, {}, plan.start))  # everyone enters at the start
        late = [e for e in events if e.at > plan.end]
        early = [e for e in events if e.at < plan.start]
        if late:
            sim.notes.append(f"{len(late)} events after the end were not sent")
        if early:
            raise BadInput(
                f"an event at {early[0].at.isoformat()} is before the start",
                sim.hints.get("events", "events"),
            )
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
            give = sim.hints.get("events", "--events")
            sim.notes.append(f"the flow starts on an event: give {give} to make people enter")
        if not plan.call_apis and any(e["type"] == "call_api" for e in elements):
            answered = "call_api was answered by the simulator (200, {})"
            option = sim.hints.get("call_apis", "--call-apis")
            sim.notes.append(f"{answered}: {option}" if option else answered)
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


class System(Protocol):
    """The throwaway system a factory builds: its API application, and its end."""

    @property
    def app(self) -> Any: ...

    def close(self) -> None: ...


class SystemFactory(Protocol):
    """Builds a throwaway system in `folder` on SQLite and a virtual clock starting at
    `start`, its default account's key `key`; `call_apis`: let `call_api` really call."""

    def __call__(self, folder: Path, *, key: str, start: datetime, call_apis: bool) -> System: ...


def _scratch() -> str | None:
    """Where the throwaway store goes: memory (`/dev/shm`) when the machine has it, since
    nothing of it needs to survive and its every commit (SQLite, synchronous=FULL) would
    otherwise wait for the disk; else the system's temporary folder."""
    shm = Path("/dev/shm")  # noqa: S108 - a private folder inside it (mkdtemp), removed after
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def run_plan(plan: Plan, factory: SystemFactory) -> dict[str, Any]:
    """Build the throwaway system, run the simulation, and tear it all down."""
    with tempfile.TemporaryDirectory(prefix="tidings-simulate-", dir=_scratch()) as folder:
        system = factory(Path(folder), key=KEY, start=plan.start, call_apis=plan.call_apis)
        try:
            return asyncio.run(_run(plan, system))
        finally:
            system.close()
