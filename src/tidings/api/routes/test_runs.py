"""`/flows/{id}/test-runs`: the web app's Test run (an addition to DESIGN.md's API).

The flow's draft (or a version) runs through `tidings simulate`'s core
(`services/test_runs.py`) in a throwaway system of its own, on a virtual clock, with
synthetic or given people and events; the answer holds the counts per element, the flow's
figures and sample messages. The account's people, sandbox and flows are never touched:
its definitions, time zone and sandbox settings are only read, so the run behaves as the
account would. The cost is bounded (people, days, a time limit, one run at a time) and the
route is synchronous, so FastAPI runs it in its threadpool, off the event loop.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field

from tidings.api.auth import Caller, caller
from tidings.api.context import AppContext, context
from tidings.api.schemas import ERRORS, Strict, id_path
from tidings.domain.errors import Conflict, InvalidInput, Problem
from tidings.domain.events import STANDARD_EVENTS
from tidings.domain.flows import parse_document
from tidings.services import test_runs
from tidings.services.flow_views import version_or_newest
from tidings.services.flows import problems_of
from tidings.store.accounts import read_account
from tidings.store.definitions import attribute_types, event_types
from tidings.store.flows import read_flow
from tidings.store.sandbox import read_settings

router = APIRouter(tags=["flows"], responses=ERRORS)
FlowId = id_path("flow")

MAX_PEOPLE = 1000
MAX_DAYS = 90
MAX_EVENTS = 10_000
TIME_LIMIT_SECONDS = 60.0
"""How long one run may take before it stops (422 naming `days`)."""
SAMPLES = 10
_running = threading.BoundedSemaphore(1)  # one test run at a time per process
# Entries a throwaway system cannot reproduce (segments, tags, files, inbound numbers of
# the account): the test people enter at the start instead, as through the Flow API.
_STANDS_IN = ("audience", "sftp", "inbound")


class TestRunEvent(Strict):
    person: str = Field(
        min_length=1, max_length=256, description='An externalId of the run\'s people, or "*"'
    )
    name: str = Field(min_length=1, max_length=128, description="The event, e.g. CartAbandoned")
    at: str | None = Field(
        None,
        max_length=40,
        description="An offset from the start (PT2H, P1D) or an instant; default the start",
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="The event's properties")


class TestRunCreate(Strict):
    version: int | None = Field(None, ge=1, le=999_999, description="Default: the newest")
    people: int | None = Field(
        None,
        ge=1,
        le=MAX_PEOPLE,
        description="Synthetic people p1..pN with a name, phone and email (default 100)",
    )
    profiles: list[dict[str, Any]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_PEOPLE,
        description="The people, as POST /people/batch takes them (instead of `people`)",
    )
    events: list[TestRunEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    days: int = Field(7, ge=1, le=MAX_DAYS, description="How long the run lasts on its clock")


@router.post(
    "/flows/{flow_id}/test-runs",
    summary="Run the flow on a virtual clock in a throwaway system (Test run)",
)
def create_test_run(
    body: TestRunCreate,
    flow_id: int = FlowId,
    who: Caller = Depends(caller),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    if ctx.simulation_system is None:
        raise Conflict("this server offers no test runs")
    if body.people is not None and body.profiles is not None:
        raise InvalidInput([Problem("profiles", "give people (a number) or profiles, not both")])
    with ctx.db.read() as conn:
        read_flow(conn, who.account_id, flow_id)
        version = version_or_newest(conn, who.account_id, flow_id, body.version)
        document = version.document
        problems = problems_of(conn, who.account_id, flow_id, parse_document(document))
        if problems:
            raise InvalidInput(problems, "the flow does not validate: fix it to test it")
        account = read_account(conn, who.account_id)
        context_types = {
            "events": {
                name: {prop: kind.value for prop, kind in props.items()}
                for name, props in event_types(conn, who.account_id).items()
                if name not in STANDARD_EVENTS
            },
            "attributes": {
                name: kind.value for name, kind in attribute_types(conn, who.account_id).items()
            },
        }
        sandbox = read_settings(conn, who.account_id).as_dict()
    start = ctx.clock.now().replace(microsecond=0)
    document, notes = _stand_in(document)
    people = (
        [dict(p) for p in body.profiles]
        if body.profiles is not None
        else test_runs.synthetic_people(body.people or 100)
    )
    seen: set[str] = set()
    for index, person in enumerate(people):
        who = person.setdefault("externalId", f"p{index + 1}")
        if not isinstance(who, str) or not who:
            raise InvalidInput([Problem(f"profiles.{index}.externalId", "must be a text")])
        if who in seen:
            message = f"{who!r} is given twice: each person once"
            raise InvalidInput([Problem(f"profiles.{index}.externalId", message)])
        seen.add(who)
    events = []
    for index, event in enumerate(body.events):
        try:
            at = test_runs.parse_at(event.at, start, f"events.{index}")
        except test_runs.BadInput as exc:
            raise InvalidInput([Problem(f"events.{index}.at", str(exc))]) from None
        events.append(test_runs.Event(event.person, event.name, event.properties, at))
    plan = test_runs.Plan(
        document=document,
        people=people,
        events=events,
        start=start,
        end=start + timedelta(days=body.days),
        context=context_types,
        timezone=account.timezone,
        sandbox=sandbox,
        samples=SAMPLES,
        call_apis=False,
        deadline=time.monotonic() + TIME_LIMIT_SECONDS,
        hints={
            "people": "profiles" if body.profiles is not None else "people",
            "events": "events",
            "call_apis": "",
        },
    )
    if not _running.acquire(blocking=False):
        raise Conflict("a test run is already running: try again when it ends")
    try:
        result = test_runs.run_plan(plan, ctx.simulation_system)
    except test_runs.BadInput as exc:
        raise InvalidInput([Problem(exc.field or "body", str(exc))]) from None
    except test_runs.Refused as exc:  # what the throwaway system would not take
        raise InvalidInput([Problem("body", f"the test run cannot go on: {exc.message}")]) from None
    except test_runs.TooLong as exc:
        limit = f"{TIME_LIMIT_SECONDS:g} s"
        message = f"{exc}: the limit is {limit}; try fewer people or days"
        raise InvalidInput([Problem("days", message)]) from None
    finally:
        _running.release()
    if "problems" in result:
        # valid for the account, refused by the throwaway system (what it cannot copy)
        found = [
            Problem(p.get("field") or "body", p["message"], p.get("element"))
            for p in result["problems"]
        ]
        raise InvalidInput(found, "a test run cannot reproduce this flow")
    return {
        "flow": {
            **result["performance"],
            "id": flow_id,
            "name": result["flow"]["name"],
            "version": version.version,
        },
        "elements": {
            row["id"]: {k: v for k, v in row.items() if k != "id"} for row in result["elements"]
        },
        "samples": result["samples"],
        "people": result["people"],
        "days": body.days,
        "start": result["start"],
        "end": result["end"],
        "notes": notes + result["notes"],
    }


def _stand_in(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The document the throwaway system runs, and what was changed for it."""
    entry = document.get("entry") or {}
    kind = entry.get("type")
    if kind not in _STANDS_IN:
        return document, []
    stand_in: dict[str, Any] = {"type": "api"}
    if entry.get("next"):
        stand_in["next"] = entry["next"]
    changed = {**document, "entry": stand_in}
    return changed, [f"the {kind} entry is played by the test people: all enter at the start"]
