"""The Flow API entry: a person (created or updated by `externalId`) is queued to enter
an active flow whose entry is `api`, with the flow's declared variables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.errors import Conflict, InvalidInput, Problem, ProblemList
from tidings.domain.flows import parse_document
from tidings.domain.flows.entry import ApiEntry
from tidings.domain.lifecycle import Status
from tidings.domain.people import check_person
from tidings.domain.values import coerce
from tidings.store import flows as flow_store
from tidings.store import idempotency
from tidings.store.changes import enqueue
from tidings.store.definitions import attribute_types
from tidings.store.people import PersonWrite, write_people


def enter_through_api(
    conn: Connection,
    account_id: int,
    flow_id: int,
    *,
    person: dict[str, Any],
    external_id: str | None,
    variables: dict[str, Any],
    idempotency_key: str | None,
    now: int,
    partitions: int,
) -> tuple[int, Any]:
    """Queue the person's entry (an inbox `enter` the engine decides on): answers
    (status, body); a repeated idempotency key answers what it did the first time.
    `person`: the fields given, as the API read them."""
    scope = f"participants.{flow_id}"
    if idempotency_key is not None:
        remembered = idempotency.recall(conn, account_id, scope, idempotency_key, now)
        if remembered is not None:
            return remembered
    flow = flow_store.read_flow(conn, account_id, flow_id)
    versions = flow_store.list_versions(conn, account_id, flow_id)
    active = [v for v in versions if v.status is Status.active]
    if not active:
        raise Conflict(f"flow {flow_id} is {flow.status.value}: only an active flow takes people")
    doc = parse_document(active[-1].document)
    if not isinstance(doc.entry, ApiEntry):
        raise Conflict("this flow does not start through the Flow API (its entry is not 'api')")
    declared = {v.name: v.type for v in doc.variables}
    problems = ProblemList()
    values: dict[str, Any] = {}
    for name, value in variables.items():
        kind = declared.get(name)
        if kind is None:
            problems.add(f"variables.{name}", "is not a variable of this flow")
            continue
        try:
            values[name] = coerce(value, kind)
        except ValueError as exc:
            problems.add(f"variables.{name}", str(exc))
    changes = check_person(person, attribute_types(conn, account_id), problems, "person.")
    problems.raise_if_any()
    written = write_people(conn, account_id, [PersonWrite(changes, external_id=external_id)], now)[
        0
    ]
    if isinstance(written, list):
        raise InvalidInput([Problem("person." + p.field, p.message) for p in written])
    enqueue(
        conn,
        [
            {
                "account_id": account_id,
                "partition": written.id % partitions,
                "person_id": written.id,
                "kind": "enter",
                "flow_id": flow_id,
                "payload": {"variables": values},
                "due_at": now,
            }
        ],
    )
    answer = {"status": "accepted", "person": written.id, "flow": flow_id}
    if idempotency_key is not None:
        idempotency.remember(conn, account_id, scope, idempotency_key, 202, answer, now)
    return 202, answer
