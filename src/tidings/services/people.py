"""People use cases: profiles written by `externalId` or id, one at a time or in
batches (each item answered on its own), all through `store.people.write_people`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.domain.errors import InvalidInput
from tidings.services.items import refused
from tidings.store import idempotency
from tidings.store import people as store

BATCH_SCOPE = "people.batch"


def upsert_person(
    conn: Connection, account_id: int, item: store.PersonWrite, now: int
) -> tuple[bool, dict[str, Any]]:
    """Create the person, or update the one holding the externalId: (created, person)."""
    [answer] = store.write_people(conn, account_id, [item], now)
    if isinstance(answer, list):
        raise InvalidInput(answer)
    return answer.created, store.read_person(conn, account_id, answer.id)


def upsert_people(
    conn: Connection,
    account_id: int,
    answers: list[dict[str, Any] | None],
    writes: list[tuple[int, store.PersonWrite]],
    *,
    idempotency_key: str | None,
    now: int,
) -> tuple[int, Any]:
    """A checked batch stored: `answers` holds the refusals by position, `writes` the
    accepted items (position, write). Answers (status, body); a repeated idempotency key
    answers what it did the first time."""
    if idempotency_key is not None:
        remembered = idempotency.recall(conn, account_id, BATCH_SCOPE, idempotency_key, now)
        if remembered is not None:
            return remembered
    out = list(answers)
    written = store.write_people(conn, account_id, [w for _, w in writes], now)
    for (index, _), result in zip(writes, written, strict=True):
        if isinstance(result, list):
            out[index] = refused(result)
        else:
            out[index] = {"status": "accepted", "id": result.id, "created": result.created}
    body = {"items": out}
    if idempotency_key is not None:
        idempotency.remember(conn, account_id, BATCH_SCOPE, idempotency_key, 200, body, now)
    return 200, body


def update_person(
    conn: Connection,
    account_id: int,
    person_id: int,
    item: store.PersonWrite,
    now: int,
    *,
    rename: bool,
    external_id: str | None,
) -> dict[str, Any]:
    """Change a person; `rename`: give them `external_id` (None removes theirs)."""
    if rename:
        store.change_external_id(conn, account_id, person_id, external_id, now)
    [answer] = store.write_people(conn, account_id, [item], now)
    if isinstance(answer, list):
        raise InvalidInput(answer)
    return store.read_person(conn, account_id, person_id)


def delete_person(conn: Connection, account_id: int, person_id: int) -> None:
    store.delete_person(conn, account_id, person_id)
