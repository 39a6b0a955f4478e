"""Flow use cases, each a function of one connection (the caller runs it inside
`db.write`, or `db.read` for the read-only ones): create, edit, validate, launch with its
lift-off summary, pause/resume/cancel, versions, in-place edits, duplicates and audience
changes. Each answers the flow's view (`services/flow_views.py`) and raises domain errors
(`InvalidInput`, `Conflict`, `NotFound`, `IllegalTransition`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.durations import to_micros
from tidings.domain.errors import Conflict, InvalidInput, Problem
from tidings.domain.flows import (
    FlowDocument,
    canonical_data,
    channels_used,
    describe_entry,
    describe_reentry,
    parse_document,
    validate,
    with_exits,
)
from tidings.domain.flows.entry import AudienceEntry, InboundEntry, one_off
from tidings.domain.flows.schedule import schedule_instants
from tidings.domain.flows.validate import inbound_clash
from tidings.domain.lifecycle import Action, Status, allows, move
from tidings.engine.housekeeping import start_audience
from tidings.services.flow_views import flow_view, version_or_newest
from tidings.store import flows as store
from tidings.store.accounts import read_account
from tidings.store.audience import Sources, count_audience, forget_sources, refresh_members
from tidings.store.flow_context import inbound_holders, validation_context


def create_flow(
    conn: Connection, account_id: int, document: dict[str, Any], now: int
) -> dict[str, Any]:
    """A new draft flow of a canonical document."""
    flow_id = store.create_flow(conn, account_id, document=document, now=now)
    return flow_view(conn, account_id, flow_id)


def delete_flow(conn: Connection, account_id: int, flow_id: int) -> None:
    """Only a flow that was never launched can go."""
    flow = store.read_flow(conn, account_id, flow_id, lock=True)
    move(Action.delete, flow.status)
    store.delete_flow(conn, account_id, flow_id)


def replace_document(
    conn: Connection, account_id: int, flow_id: int, doc: FlowDocument, now: int
) -> dict[str, Any]:
    """The newest version's document replaced, while that version is a draft."""
    store.read_flow(conn, account_id, flow_id, lock=True)
    latest = store.latest_version(conn, account_id, flow_id)
    move(Action.edit, latest.status, what=f"version {latest.version}")
    check_entry_kept(conn, account_id, flow_id, doc, latest.version)
    store.update_document(
        conn, account_id, flow_id, latest.version, document=canonical_data(doc), now=now
    )
    return flow_view(conn, account_id, flow_id)


def validate_flow(conn: Connection, account_id: int, flow_id: int) -> list[Problem]:
    """Every problem that stops the newest version's launch."""
    store.read_flow(conn, account_id, flow_id)
    doc = parse_document(store.latest_version(conn, account_id, flow_id).document)
    return problems_of(conn, account_id, flow_id, doc)


def check_entry_kept(
    conn: Connection, account_id: int, flow_id: int, doc: FlowDocument, version: int
) -> None:
    """The guide: the entry point a launched flow started with cannot be removed, nor
    changed for another kind, in later versions."""
    if version == 1:
        return
    first = parse_document(store.read_version(conn, account_id, flow_id, 1).document).entry
    if first is None:
        return
    if doc.entry is None:
        raise InvalidInput(
            [Problem("entry", "the entry point of this flow cannot be deleted in a new version")]
        )
    if doc.entry.type != first.type:
        raise InvalidInput(
            [
                Problem(
                    "entry.type",
                    f"the entry point stays {first.type!r} in every version; "
                    "duplicate the flow to start it another way",
                )
            ]
        )


def problems_of(
    conn: Connection, account_id: int, flow_id: int, doc: FlowDocument
) -> list[Problem]:
    return validate(doc, validation_context(conn, account_id, flow_id=flow_id))


def schedule_of(
    conn: Connection, account_id: int, doc: FlowDocument
) -> tuple[int | None, int | None]:
    """Start and end as instants; wall times are read in the flow's zone, else the
    account's (`domain/flows/schedule.py`)."""
    start, end = schedule_instants(doc, read_account(conn, account_id).timezone)
    return (
        None if start is None else to_micros(start),
        None if end is None else to_micros(end),
    )


def lift_off(
    conn: Connection, account_id: int, flow_id: int, doc: FlowDocument, now: int
) -> dict[str, Any]:
    """The launch page: who enters, re-entry, schedule, goal, channels, and what is wrong."""
    ctx = validation_context(conn, account_id, flow_id=flow_id)
    problems = validate(doc, ctx)
    size: int | None = None
    if isinstance(doc.entry, AudienceEntry) and not problems:
        size = count_audience(conn, account_id, Sources.of(doc.entry), now=now)
    start, _end = (None, None) if problems else schedule_of(conn, account_id, doc)
    once = one_off(doc.entry)
    goal = doc.settings.goal
    return {
        "flow": {"id": flow_id, "name": doc.name},
        "entry": describe_entry(doc, ctx),
        "audienceSize": size,
        "reentry": describe_reentry(doc),
        "schedule": {
            "start": doc.settings.schedule.start,
            "end": doc.settings.schedule.end,
            "startsNow": start is None or start <= now,
            "runsIndefinitely": doc.settings.schedule.end is None and not once,
            "note": _schedule_note(doc, once),
        },
        "goal": None if goal is None else goal.model_dump(exclude_none=True),
        "channels": channels_used(doc),
        "problems": [p.as_dict() for p in problems],
        "canLaunch": not problems,
    }


def launch_summary(conn: Connection, account_id: int, flow_id: int, now: int) -> dict[str, Any]:
    """The lift-off page of the newest version (a launch's dry run): a version that is
    no longer a draft cannot launch, and says why."""
    store.read_flow(conn, account_id, flow_id)
    latest = store.latest_version(conn, account_id, flow_id)
    doc = parse_document(latest.document)
    summary = lift_off(conn, account_id, flow_id, doc, now)
    summary["flow"]["version"] = latest.version
    if latest.status is not Status.draft:
        summary["canLaunch"] = False
        summary["problems"].append(
            {
                "field": "status",
                "message": f"version {latest.version} is "
                f"{latest.status.value}; only a draft can be launched",
            }
        )
    return summary


def _schedule_note(doc: FlowDocument, once: bool) -> str | None:
    if once:
        return "everyone enters at launch; the flow finishes when its last person leaves" + (
            " or at its end, whichever comes first" if doc.settings.schedule.end else ""
        )
    if doc.settings.schedule.end:
        return None
    return "runs for 1 year: it stops by itself after a year in which no element fires"


def launch(
    conn: Connection, account_id: int, flow_id: int, now: int, *, partitions: int = 256
) -> dict[str, Any]:
    store.read_flow(conn, account_id, flow_id, lock=True)
    versions = store.list_versions(conn, account_id, flow_id)
    latest = versions[-1]
    move(Action.launch, latest.status, what=f"version {latest.version}")
    doc = parse_document(latest.document)
    check_entry_kept(conn, account_id, flow_id, doc, latest.version)
    problems = problems_of(conn, account_id, flow_id, doc)
    if problems:
        raise Conflict(
            f"the flow cannot launch until {len(problems)} problem"
            f"{'s are' if len(problems) > 1 else ' is'} fixed",
            [p.as_dict() for p in problems],
        )
    doc = with_exits(doc)
    starts_at, ends_at = schedule_of(conn, account_id, doc)
    status = Status.scheduled if starts_at is not None and starts_at > now else Status.active
    store.update_document(
        conn, account_id, flow_id, latest.version, document=canonical_data(doc), now=now
    )
    for older in versions[:-1]:
        if older.status in (Status.active, Status.paused):
            store.set_version_status(
                conn, account_id, flow_id, older.version, Status.finishing, now=now
            )
        elif older.status is Status.scheduled:
            store.set_version_status(
                conn, account_id, flow_id, older.version, Status.canceled, now=now
            )
    store.set_version_status(conn, account_id, flow_id, latest.version, status, now=now)
    store.set_schedule(conn, account_id, flow_id, starts_at=starts_at, ends_at=ends_at)
    if status is Status.active:
        start_audience(conn, account_id, flow_id, canonical_data(doc), now, partitions=partitions)
    return flow_view(conn, account_id, flow_id)


def act(
    conn: Connection, account_id: int, flow_id: int, action: Action, now: int
) -> dict[str, Any]:
    """Pause, resume or cancel the flow: the versions the action applies to move."""
    store.read_flow(conn, account_id, flow_id, lock=True)
    versions = store.list_versions(conn, account_id, flow_id)
    targets = [v for v in versions if allows(action, v.status)]
    if not targets:
        flow_status = store.read_flow(conn, account_id, flow_id).status
        move(action, flow_status)  # raises, saying why
        raise Conflict(f"cannot {action.value} the flow: no version is in a state to")
    for version in targets:
        to = move(action, version.status, what=f"version {version.version}")
        store.set_version_status(conn, account_id, flow_id, version.version, to, now=now)
    return flow_view(conn, account_id, flow_id)


def new_version(
    conn: Connection, account_id: int, flow_id: int, now: int, *, base: int | None = None
) -> dict[str, Any]:
    """A new draft version, a copy of version `base` (the guide's "Edit the entire flow
    through this version"; default: the newest)."""
    store.read_flow(conn, account_id, flow_id, lock=True)
    versions = store.list_versions(conn, account_id, flow_id)
    chosen = versions[-1]
    if base is not None:
        found = [v for v in versions if v.version == base]
        if not found:
            raise InvalidInput(
                [
                    Problem(
                        "from", f"flow {flow_id} has no version {base}: choose one of its versions"
                    )
                ]
            )
        chosen = found[0]
    drafts = [v for v in versions if v.status is Status.draft]
    if drafts:
        raise Conflict(
            f"version {drafts[-1].version} is already a draft: edit it "
            f"(PUT /flows/{flow_id}/document) and launch it"
        )
    if one_off(parse_document(chosen.document).entry):
        raise Conflict(
            "a flow whose predefined audience is never updated cannot get a new version: "
            f"duplicate it instead (POST /flows/{flow_id}/duplicate)"
        )
    store.add_version(conn, account_id, flow_id, document=chosen.document, now=now)
    return flow_view(conn, account_id, flow_id)


EDITABLE = {"settings": {"goal", "schedule"}, "entry": {"segments", "tags", "people", "companies"}}


def edit_in_place(
    conn: Connection,
    account_id: int,
    flow_id: int,
    number: int,
    changes: dict[str, Any],
    now: int,
    *,
    partitions: int = 256,
) -> dict[str, Any]:
    """Goal, schedule and audience of an existing version, changed in place. The people
    of a source added to an active real-time audience enter at once, as their re-entry
    settings allow (the guide: they enter "immediately after you save the changes")."""
    for key, value in changes.items():
        allowed = EDITABLE.get(key)
        if allowed is None or not isinstance(value, dict):
            extra = [key]
        else:
            extra = [f"{key}.{name}" for name in sorted(set(value) - allowed)]
        if extra:
            raise Conflict(
                f"{', '.join(extra)} cannot change in place: only the goal, schedule and "
                f"audience can; create a new version (POST /flows/{flow_id}/versions) to "
                "change anything else"
            )
    store.read_flow(conn, account_id, flow_id, lock=True)
    version = store.read_version(conn, account_id, flow_id, number)
    if version.status in (Status.finished, Status.canceled, Status.failed):
        raise Conflict(f"version {number} is {version.status.value}; it can no longer change")
    data = dict(version.document)
    if "settings" in changes:
        data["settings"] = {**(data.get("settings") or {}), **changes["settings"]}
    if "entry" in changes:
        entry = dict(data.get("entry") or {})
        if entry.get("type") != "audience":
            raise Conflict("only a predefined audience entry has an audience to change")
        if version.status is not Status.draft and entry.get("update", "never") != "realtime":
            raise Conflict(
                "the audience of a launched flow can change only when it is updated in real "
                "time (entry.update = realtime)"
            )
        entry.update(changes["entry"])
        data["entry"] = entry
    doc = parse_document(data)
    touched = ("settings.goal", "settings.schedule", "entry")
    problems = [
        p for p in problems_of(conn, account_id, flow_id, doc) if p.field.startswith(touched)
    ]
    if problems and version.status is not Status.draft:
        raise InvalidInput(problems)
    store.update_document(conn, account_id, flow_id, number, document=canonical_data(doc), now=now)
    if "schedule" in changes.get("settings", {}) and version.status is not Status.draft:
        starts_at, ends_at = schedule_of(conn, account_id, doc)
        store.set_schedule(conn, account_id, flow_id, starts_at=starts_at, ends_at=ends_at)
    if "entry" in changes and version.status is not Status.draft:
        assert isinstance(doc.entry, AudienceEntry)  # a real-time audience: checked above
        if version.status is Status.active:
            refresh_members(
                conn,
                account_id,
                flow_id,
                Sources.of(doc.entry),
                now=now,
                partitions=partitions,
                edited=True,
            )
        else:  # paused: its people enter at resume, with the refresh
            forget_sources(conn, account_id, flow_id, Sources.of(doc.entry))
    return flow_view(conn, account_id, flow_id)


def stop_version(
    conn: Connection, account_id: int, flow_id: int, number: int, now: int
) -> dict[str, Any]:
    store.read_flow(conn, account_id, flow_id, lock=True)
    version = store.read_version(conn, account_id, flow_id, number)
    to = move(Action.stop, version.status, what=f"version {number}")
    store.set_version_status(conn, account_id, flow_id, number, to, now=now)
    return flow_view(conn, account_id, flow_id)


def delete_version(conn: Connection, account_id: int, flow_id: int, number: int, now: int) -> None:
    """A draft version goes, unless it is the flow's only one."""
    store.read_flow(conn, account_id, flow_id, lock=True)
    version = store.read_version(conn, account_id, flow_id, number)
    move(Action.delete, version.status, what=f"version {number}")
    if len(store.list_versions(conn, account_id, flow_id)) == 1:
        raise Conflict("this is the flow's only version: delete the flow instead")
    store.delete_version(conn, account_id, flow_id, number, now)


def duplicate(
    conn: Connection, account_id: int, flow_id: int, number: int | None, now: int
) -> dict[str, Any]:
    """A new draft flow from a version's document (the latest by default)."""
    store.read_flow(conn, account_id, flow_id)
    source = version_or_newest(conn, account_id, flow_id, number)
    document = dict(source.document)
    _check_inbound_free(conn, account_id, document)
    document["name"] = f"{document.get('name') or 'Flow'} (copy)"[:255]
    new_id = store.create_flow(conn, account_id, document=document, now=now, duplicate_of=flow_id)
    return flow_view(conn, account_id, new_id)


def _check_inbound_free(conn: Connection, account_id: int, document: dict[str, Any]) -> None:
    """The guide: a flow that enters on an inbound number and keyword cannot be
    duplicated while a running flow (the original, most often) holds them: one number
    and keyword cannot be used in two flows."""
    entry = parse_document(document).entry
    if not isinstance(entry, InboundEntry) or not entry.channel or not entry.number:
        return
    mine = (entry.channel, entry.number, entry.keyword)
    for holder, taken in inbound_holders(conn, account_id):
        if inbound_clash(mine, taken) is None:
            continue
        name = store.read_flow(conn, account_id, holder).name
        what = (
            f"number {taken[1]} and keyword {taken[2]!r} are"
            if taken[2]
            else f"number {taken[1]} (every message to it) is"
        )
        raise Conflict(
            f"the {entry.channel} {what} taken by flow {holder} ({name!r}): a duplicate "
            "cannot enter on them; finish or cancel that flow first, or duplicate a version "
            "with another number or keyword"
        )


AUDIENCE_KEYS = ("segments", "tags", "people", "companies")


def change_audience(
    conn: Connection,
    account_id: int,
    flow_id: int,
    add: dict[str, list[Any]],
    remove: dict[str, list[Any]],
    now: int,
    *,
    partitions: int,
) -> dict[str, Any]:
    """Add or remove sources of the active version's real-time predefined audience.
    Added people enter at once (re-entry settings apply: `edit_in_place`); removing a
    source never touches people already inside."""
    store.read_flow(conn, account_id, flow_id, lock=True)
    active = [
        v for v in store.list_versions(conn, account_id, flow_id) if v.status is Status.active
    ]
    if not active:
        raise Conflict("only an active flow's audience can change")
    version = active[-1]
    entry = dict(version.document.get("entry") or {})
    if entry.get("type") != "audience" or entry.get("update") != "realtime":
        raise Conflict(
            "people can be added or removed only for a predefined audience updated in real "
            "time (entry.update = realtime)"
        )
    changes: dict[str, list[Any]] = {}
    for key in AUDIENCE_KEYS:
        current = list(entry.get(key) or [])
        current += [x for x in add.get(key, []) if x not in current]
        current = [x for x in current if x not in remove.get(key, [])]
        changes[key] = current
    return edit_in_place(
        conn,
        account_id,
        flow_id,
        version.version,
        {"entry": changes},
        now,
        partitions=partitions,
    )
