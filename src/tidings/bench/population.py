"""Bulk test populations written straight into a store (the API is not what is measured)."""

from __future__ import annotations

import time

from sqlalchemy import insert, select

from tidings.store.accounts import ensure_default_account
from tidings.store.database import Database
from tidings.store.dialect import param
from tidings.store.tables import people, person_contacts, person_tags, tags

CHUNK = 20_000


def populate(
    url: str,
    *,
    people_count: int,
    api_key: str,
    tag: str = "vip",
    phones: bool = True,
    emails: bool = False,
) -> float:
    """Create the default account, `people_count` people with `tag` (and a phone each
    unless `phones` is off: workloads that send SMS need one, people who only wait do not;
    an email address each with `emails`); return the seconds it took."""
    started = time.perf_counter()
    db = Database(url=url)
    db.migrate()
    with db.write_engine.begin() as conn:
        ensure_default_account(conn, api_key=api_key, now=0)
        conn.execute(insert(tags).values(account_id=1, name=tag, created_at=0))
        tag_id = conn.execute(select(tags.c.id).where(tags.c.name == tag)).scalar_one()
    base = 0
    while base < people_count:
        size = min(CHUNK, people_count - base)
        with db.write_engine.begin() as conn:
            p = param(db.dialect)
            conn.exec_driver_sql(
                # no custom attributes: NULL, as the API writes it (tables.EmptyAsNull)
                "INSERT INTO people (account_id, external_id, first_name, attributes, created_at, "
                f"updated_at) VALUES ({p}, {p}, {p}, NULL, 0, 0)",
                [(1, f"p{base + i}", f"Person{base + i}") for i in range(size)],
            )
            ids = (
                conn.execute(
                    select(people.c.id).where(
                        people.c.external_id.in_([f"p{base}", f"p{base + size - 1}"])
                    )
                )
                .scalars()
                .all()
            )
            first, last = min(ids), max(ids)
            if phones:
                conn.execute(
                    insert(person_contacts),
                    [
                        {
                            "account_id": 1,
                            "person_id": pid,
                            "kind": "phone",
                            "value": f"+38591{pid:07d}",
                            "position": 0,
                        }
                        for pid in range(first, last + 1)
                    ],
                )
            if emails:
                conn.execute(
                    insert(person_contacts),
                    [
                        {
                            "account_id": 1,
                            "person_id": pid,
                            "kind": "email",
                            "value": f"p{pid}@example.com",
                            "position": 0,
                        }
                        for pid in range(first, last + 1)
                    ],
                )
            conn.execute(
                insert(person_tags),
                [
                    {"account_id": 1, "person_id": pid, "tag_id": tag_id}
                    for pid in range(first, last + 1)
                ],
            )
        base += size
    db.close()
    return time.perf_counter() - started
