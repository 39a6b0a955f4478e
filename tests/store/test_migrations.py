"""Migrations build exactly the schema of `tables.py`, on both databases, and convert the
rows that are there."""

from __future__ import annotations

import itertools
import json as json_module
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex

from tests.conftest import BACKENDS
from tests.support.postgres import create_database
from tidings.bootstrap import Tidings
from tidings.domain.durations import format_micros
from tidings.store import traces
from tidings.store.database import MIGRATIONS, Database
from tidings.store.tables import (
    EXITED,
    EXPRESSION_INDEXES,
    PHASE_CODE,
    WITHOUT_ROWID,
    metadata,
    participations,
)

_names = itertools.count()


def test_migrated_schema_matches_the_tables(system: Tidings) -> None:
    with system.db.engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy does not reflect an index on an expression (it warns), and Alembic
        # compares them by text, which PostgreSQL rewrites: they are checked below.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    on_expressions = {ix.name for ix in EXPRESSION_INDEXES}
    assert [
        d
        for d in differences
        if not (d[0] in ("add_index", "remove_index") and d[1].name in on_expressions)
    ] == []
    for index in EXPRESSION_INDEXES:
        assert _index_sql(system, str(index.name)) == _normal(
            str(CreateIndex(index).compile(dialect=system.db.engine.dialect))
        )


def _index_sql(system: Tidings, name: str) -> str:
    query = (
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        if system.db.dialect == "sqlite"
        else "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    )
    with system.db.engine.connect() as conn:
        return _normal(str(conn.execute(text(query), {"name": name}).scalar_one()))


def _normal(sql: str) -> str:
    """An index's definition, as either database spells it back."""
    sql = re.sub(r"\bpublic\.|::text|::bigint|::integer| USING btree", "", sql)
    return re.sub(r"[\s()]+", "", sql).lower()


def test_migrating_again_changes_nothing(system: Tidings) -> None:
    system.db.migrate()
    with system.db.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    script = ScriptDirectory(str(MIGRATIONS))
    assert version == script.get_current_head()


def _at_revision(url: str, revision: str, *, down: bool = False) -> Database:
    db = Database(url=url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.write_engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
    return db


def _store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return create_database(request.getfixturevalue("postgres_url"), f"migrate{next(_names)}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_0005_moves_details_that_rows_share_and_the_journeys_read_the_same(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0004")
    json = "CAST({} AS JSONB)" if backend == "postgresql" else "{}"
    day = 86_400 * 1_000_000
    at = 20_000 * day + 5_000_000
    lines = '[[null,"entered"],["w","waiting for","Ping until 2026-01-06T00:00:00Z"]]'
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, external_id, attributes, created_at, "
            f"updated_at) VALUES (1, 1, 'p1', {json.format(repr('{}'))}, 0, 0), "
            f"(2, 1, 'p2', {json.format(repr('{}'))}, 0, 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0)",
        ]:
            conn.exec_driver_sql(sql)
        for pid in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO participations (id, account_id, flow_id, version, person_id, "
                    "partition, phase, element, variables, local, message_events, entered_at, "
                    f"updated_at) VALUES (:id, 1, 1, 1, :id, 0, 'waiting', 'w', "
                    f"{json.format(repr('{}'))}, {json.format(repr('{}'))}, "
                    f"{json.format(repr('[]'))}, :at, :at)"
                ),
                {"id": pid, "at": at},
            )
        steps = [  # person, participation, element, kind, detail, at
            (1, 1, "w", "steps", lines, at),
            (2, 2, "w", "steps", lines, at + 1),  # the same lines the same day: shared
            (1, None, None, "refused", '{"reason": "alreadyInFlow"}', at + 2),
            (2, 2, "w", "steps", lines, at + day),  # another day: kept on its row
        ]
        for person, participation, element, kind, detail, when in steps:
            conn.execute(
                text(
                    "INSERT INTO journey_steps (account_id, person_id, flow_id, version, "
                    "participation_id, element, kind, detail, at) VALUES (1, :person, 1, 1, "
                    f":participation, :element, :kind, {json.format(':detail')}, :at)"
                ),
                {
                    "person": person,
                    "participation": participation,
                    "element": element,
                    "kind": kind,
                    "detail": detail,
                    "at": when,
                },
            )
    db.close()
    first = format_micros(at)

    def waiting(when: int) -> list[dict[str, Any]]:
        return [
            {
                "at": format_micros(when),
                "element": None,
                "elementName": None,
                "what": "entered",
                "why": None,
            },
            {
                "at": format_micros(when),
                "element": "w",
                "elementName": None,  # the flow has no stored version here
                "what": "waiting for",
                "why": "Ping until 2026-01-06T00:00:00Z",
            },
        ]

    journey = {
        "participation": 1,
        "flow": 1,
        "flowName": "f",
        "version": 1,
        "status": "waiting",
        "element": "w",
        "elementName": None,
        "enteredAt": first,
        "exitedAt": None,
        "exitReason": None,
    }
    refused = {"flow": 1, "version": 1, "at": format_micros(at + 2), "reason": "alreadyInFlow"}
    expected = [
        {"journeys": [{**journey, "steps": waiting(at)}], "refusedEntries": [refused]},
        {
            "journeys": [
                {**journey, "participation": 2, "steps": waiting(at + 1) + waiting(at + day)}
            ],
            "refusedEntries": [],
        },
    ]

    db = _at_revision(url, "head")
    with db.read() as conn:
        after = [traces.person_journeys(conn, 1, pid) for pid in (1, 2)]
        rows = conn.exec_driver_sql(
            "SELECT person_id, detail_id, kind FROM journey_steps ORDER BY id"
        ).all()
        details = conn.exec_driver_sql("SELECT id, kind, element FROM journey_step_details").all()
    db.close()
    assert after == expected
    assert [(d[1], d[2]) for d in details] == [("steps", "w")]
    shared = details[0][0]
    assert [tuple(r) for r in rows] == [
        (1, shared, None),
        (2, shared, None),
        (1, None, "refused"),
        (2, None, "steps"),
    ]

    db = _at_revision(url, "0004", down=True)
    with db.read() as conn:
        old = conn.exec_driver_sql(
            "SELECT person_id, participation_id, element, kind, at FROM journey_steps ORDER BY id"
        ).all()
    db.close()
    assert [tuple(r) for r in old] == [s[:4] + s[5:] for s in steps]


def test_0006_keeps_the_link_rows_and_stores_them_by_their_key_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = _at_revision(url, "0005")
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, attributes, created_at, updated_at) "
            "VALUES (1, 1, '{}', 0, 0)",
            "INSERT INTO tags (id, account_id, name, created_at) VALUES (1, 1, 'vip', 0)",
            "INSERT INTO person_tags VALUES (1, 1, 1)",
            "INSERT INTO person_contacts VALUES (1, 1, 'phone', '+385911234567', 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0)",
            "INSERT INTO element_visits VALUES (1, 1, 1, 'w', 1)",
        ]:
            conn.exec_driver_sql(sql)
    db.close()
    db = _at_revision(url, "head")
    with db.read() as conn:
        kept = [
            conn.exec_driver_sql(f"SELECT * FROM {table}").all()
            for table in ("person_tags", "person_contacts", "element_visits")
        ]
        schema = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").all())
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.exec_driver_sql("DELETE FROM people WHERE id = 1")  # the cascade still holds
        left = conn.exec_driver_sql("SELECT count(*) FROM person_tags").scalar()
    db.close()
    assert [[tuple(r) for r in rows] for rows in kept] == [
        [(1, 1, 1)],
        [(1, 1, "phone", "+385911234567", 0)],
        [(1, 1, 1, "w", 1)],
    ]
    for table in WITHOUT_ROWID:
        assert "WITHOUT ROWID" in schema[table], table
    assert left == 0


class _Undo(Exception):
    """Raised to roll a test's writes back."""


def test_a_person_is_live_in_a_flow_once_and_exited_any_number_of_times(system: Tidings) -> None:
    """uq_participations_history: unique over live participations of a flow and person."""
    json = "CAST({} AS JSONB)" if system.db.dialect == "postgresql" else "{}"
    empty = json.format("'{}'")
    refused: list[bool] = []

    def write(conn: Any) -> None:
        account = conn.exec_driver_sql(
            "INSERT INTO accounts (name, timezone, allow_private_urls, created_at) "
            "VALUES ('unique', 'UTC', false, 0) RETURNING id"
        ).scalar_one()
        person = conn.exec_driver_sql(
            "INSERT INTO people (account_id, attributes, created_at, updated_at) "
            f"VALUES ({account}, {empty}, 0, 0) RETURNING id"
        ).scalar_one()
        flow = conn.exec_driver_sql(
            "INSERT INTO flows (account_id, name, status, created_at, updated_at) "
            f"VALUES ({account}, 'f', 'active', 0, 0) RETURNING id"
        ).scalar_one()

        def participation(phase: str) -> None:
            conn.exec_driver_sql(
                "INSERT INTO participations (account_id, flow_id, version, person_id, "
                f"phase, entered_at) VALUES ({account}, {flow}, 1, {person}, "
                f"{PHASE_CODE[phase]}, 0)"
            )

        participation("exited")
        participation("exited")
        participation("waiting")
        for phase in ("waiting", "running"):
            savepoint = conn.begin_nested()
            try:
                participation(phase)
            except IntegrityError:
                savepoint.rollback()
                refused.append(True)
            else:
                savepoint.rollback()
                refused.append(False)
        raise _Undo

    with pytest.raises(_Undo):
        system.db.write(write)
    assert refused == [True, True]


@pytest.mark.parametrize("backend", BACKENDS)
def test_0010_stores_empties_as_null_and_an_entry_detail_goes_back_to_a_trace_row(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0009")
    json = "CAST({} AS JSONB)" if backend == "postgresql" else "{}"
    empty, none = json.format("'{}'"), json.format("'[]'")
    full = [json.format(repr(v)) for v in ('{"x": 1}', '{"k": true}', '[["sms1", "seen"]]')]
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, attributes, created_at, updated_at) "
            f"VALUES (1, 1, {empty}, 0, 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0)",
            "INSERT INTO participations (id, account_id, flow_id, version, person_id, "
            "partition, phase, element, variables, local, message_events, entered_at, "
            f"exited_at, updated_at) VALUES (1, 1, 1, 1, 1, 0, 'exited', 'w', {empty}, {empty}, "
            f"{none}, 10, 20, 20), (2, 1, 1, 1, 1, 0, 'waiting', 'w', "
            f"{full[0]}, {full[1]}, {full[2]}, 30, NULL, 40)",
        ]:
            conn.exec_driver_sql(sql)
    db.close()

    db = _at_revision(url, "head")
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, variables, local, message_events, entry_detail FROM participations "
            "ORDER BY id"
        ).all()
        columns = {c["name"] for c in inspect(conn).get_columns("participations")}
    assert "updated_at" not in columns
    assert rows[0][1:] == (None, None, None, None)
    assert [_decoded(v) for v in rows[1][1:4]] == [{"x": 1}, {"k": True}, [["sms1", "seen"]]]
    with db.write_engine.begin() as conn:  # a set-based entry, as engine/uniform.py writes it
        detail = traces.entry_detail(conn, 1, "w", [[None, "entered"]], 50)
        conn.exec_driver_sql(
            "INSERT INTO participations (id, account_id, flow_id, version, person_id, "
            f"phase, element, entered_at, entry_detail) VALUES (3, 1, 1, 1, 1, {EXITED}, 'w', "
            f"50, {detail})"
        )
        answer = traces.person_journeys(conn, 1, 1)
    indexes = _participation_indexes(db)
    db.close()
    assert answer["journeys"][0]["steps"] == [
        {
            "at": format_micros(50),
            "element": None,
            "elementName": None,
            "what": "entered",
            "why": None,
        }
    ]
    # the SQLite rebuild kept every index as tables.py has it, WHERE and expression alike
    assert indexes == {
        str(index.name): _normal(str(CreateIndex(index).compile(dialect=db.engine.dialect)))
        for index in [*participations.indexes, *EXPRESSION_INDEXES]
    }

    db = _at_revision(url, "0009", down=True)
    with db.read() as conn:
        old = conn.exec_driver_sql(
            "SELECT id, variables, local, message_events, updated_at FROM participations "
            "ORDER BY id"
        ).all()
        steps = conn.exec_driver_sql(
            "SELECT participation_id, detail_id, at FROM journey_steps"
        ).all()
    db.close()
    assert [(r[0], *(_decoded(v) for v in r[1:4]), r[4]) for r in old] == [
        (1, {}, {}, [], 20),
        (2, {"x": 1}, {"k": True}, [["sms1", "seen"]], 30),
        (3, {}, {}, [], 50),
    ]
    assert [tuple(r) for r in steps] == [(3, detail, 50)]  # read as 0009's code reads rows


def _decoded(value: Any) -> Any:
    return json_module.loads(value) if isinstance(value, str) else value


def _participation_indexes(db: Database) -> dict[str, str]:
    """The participations' indexes (but the primary key), by name, as `_normal` has them."""
    query = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'participations' AND sql IS NOT NULL"
        if db.dialect == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'participations' "
        "AND indexname != 'pk_participations'"
    )
    with db.read() as conn:
        return {str(r[0]): _normal(str(r[1])) for r in conn.exec_driver_sql(query)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_0011_to_0013_keep_the_rows_phases_as_codes_and_downgrade_gives_all_back(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0010")
    json = "CAST({} AS JSONB)" if backend == "postgresql" else "{}"
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, attributes, created_at, updated_at) "
            f"VALUES (300, 1, {json.format(repr('{}'))}, 0, 0), "
            f"(7, 1, {json.format(repr('{}'))}, 0, 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0)",
            "INSERT INTO participations (id, account_id, flow_id, version, person_id, "
            "partition, phase, element, wake_at, waiting_for, entered_at, exited_at) VALUES "
            "(1, 1, 1, 1, 300, 44, 'exited', 'x', NULL, NULL, 10, 20), "
            "(2, 1, 1, 1, 300, 44, 'waiting', 'w', 90, 'Ping', 30, NULL), "
            "(3, 1, 1, 1, 7, 7, 'running', 'r', NULL, NULL, 40, NULL)",
        ]:
            conn.exec_driver_sql(sql)
    db.close()
    kept = "SELECT id, person_id, phase, element, wake_at, waiting_for, entered_at, exited_at"
    rows = [
        (1, 300, "exited", "x", None, None, 10, 20),
        (2, 300, "waiting", "w", 90, "Ping", 30, None),
        (3, 7, "running", "r", None, None, 40, None),
    ]

    db = _at_revision(url, "head")
    with db.read() as conn:
        after = conn.exec_driver_sql(f"{kept} FROM participations ORDER BY id").all()
        columns = {c["name"] for c in inspect(conn).get_columns("participations")}
        answer = traces.person_journeys(conn, 1, 300)  # Core reads the phase by name
    indexes = _participation_indexes(db)
    db.close()
    assert [tuple(r) for r in after] == [(r[0], r[1], PHASE_CODE[r[2]], *r[3:]) for r in rows]
    assert [j["status"] for j in answer["journeys"]] == ["waiting", "exited"]
    assert "partition" not in columns
    assert indexes == {
        str(index.name): _normal(str(CreateIndex(index).compile(dialect=db.engine.dialect)))
        for index in [*participations.indexes, *EXPRESSION_INDEXES]
    }

    db = _at_revision(url, "0010", down=True)
    with db.read() as conn:
        old = conn.exec_driver_sql(f"{kept}, partition FROM participations ORDER BY id").all()
    indexes = _participation_indexes(db)
    db.close()
    assert [tuple(r) for r in old] == [(*r, r[1] % 256) for r in rows]
    assert _normal("(person_id, waiting_for)") in indexes["ix_participations_awaiting"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_0014_stores_no_attributes_as_null_keeping_everything_of_the_people(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A rebuild of `people` (SQLite's batch mode) would DROP it, and with foreign keys on
    the drop's implicit delete would cascade to everything of the people: 0014 must not."""
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0013")
    json = "CAST({} AS JSONB)" if backend == "postgresql" else "{}"
    empty, gold = (json.format(repr(v)) for v in ("{}", '{"plan": "gold"}'))
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, external_id, attributes, created_at, "
            f"updated_at) VALUES (1, 1, 'p1', {empty}, 0, 0), (2, 1, 'p2', {gold}, 0, 0)",
            "INSERT INTO tags (id, account_id, name, created_at) VALUES (1, 1, 'vip', 0)",
            "INSERT INTO person_tags VALUES (1, 1, 1), (1, 2, 1)",
            "INSERT INTO person_contacts VALUES (1, 1, 'phone', '+385911234567', 0)",
            "INSERT INTO events (account_id, person_id, name, properties, time, received_at) "
            f"VALUES (1, 1, 'Ping', {empty}, 0, 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0)",
            "INSERT INTO participations (id, account_id, flow_id, version, person_id, phase, "
            "element, waiting_for, entered_at) VALUES (1, 1, 1, 1, 1, 0, 'w', 'Ping', 10)",
        ]:
            conn.exec_driver_sql(sql)
    db.close()
    linked = "SELECT (SELECT count(*) FROM person_tags), (SELECT count(*) FROM person_contacts), "
    linked += "(SELECT count(*) FROM events), (SELECT count(*) FROM participations)"
    attributes = "SELECT id, attributes FROM people ORDER BY id"

    db = _at_revision(url, "head")
    with db.write_engine.begin() as conn:
        after = conn.exec_driver_sql(attributes).all()
        links = tuple(conn.exec_driver_sql(linked).one())
        conn.exec_driver_sql(
            "INSERT INTO people (id, account_id, attributes, created_at, updated_at) "
            "VALUES (3, 1, NULL, 0, 0)"
        )
        checked = (
            # of people: SQLite 3.40.1 reports a false NULL in WITHOUT ROWID tables whose
            # key does not lead (person_tags), with or without this migration
            conn.exec_driver_sql("PRAGMA integrity_check(people)").scalar()
            if backend == "sqlite"
            else "ok"
        )
    db.close()
    plan = {"plan": "gold"}
    assert [
        (i, v if v is None or isinstance(v, dict) else json_module.loads(v)) for i, v in after
    ] == [
        (1, None),
        (2, plan),
    ]
    assert links == (2, 1, 1, 1)
    assert checked == "ok"

    db = _at_revision(url, "0013", down=True)
    with db.read() as conn:
        before = conn.exec_driver_sql(attributes).all()
        links = tuple(conn.exec_driver_sql(linked).one())
    with pytest.raises(IntegrityError), db.write_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO people (id, account_id, attributes, created_at, updated_at) "
            "VALUES (4, 1, NULL, 0, 0)"
        )
    db.close()
    assert [(i, v if isinstance(v, dict) else json_module.loads(v)) for i, v in before] == [
        (1, {}),
        (2, plan),
        (3, {}),
    ]
    assert links == (2, 1, 1, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_0017_seeds_running_real_time_audiences_with_everyone_ever_in_the_flow(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """After the upgrade nobody who was in a real-time flow counts as a new joiner (they
    would enter again); the first refresh drops those who no longer belong."""
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0014")
    json = "CAST({} AS JSONB)" if backend == "postgresql" else "{}"
    realtime = {
        "type": "audience",
        "update": "realtime",
        "tags": ["vip"],
        "segments": [5, "Zagreb"],
        "companies": ["Acme"],
        "people": ["p9"],
    }

    def doc(entry: dict[str, Any]) -> str:
        return json.format(repr(json_module.dumps({"name": "f", "entry": entry})))

    event = {"type": "event", "event": "Ping"}
    with db.write_engine.begin() as conn:
        for sql in [
            "INSERT INTO accounts (id, name, timezone, allow_private_urls, created_at) "
            "VALUES (1, 'a', 'UTC', false, 0)",
            "INSERT INTO people (id, account_id, created_at, updated_at) "
            "VALUES (1, 1, 0, 0), (2, 1, 0, 0), (3, 1, 0, 0)",
            "INSERT INTO flows (id, account_id, name, status, created_at, updated_at) "
            "VALUES (1, 1, 'f', 'active', 0, 0), (2, 1, 'g', 'active', 0, 0), "
            "(3, 1, 'h', 'canceled', 0, 0)",
            "INSERT INTO flow_versions (account_id, flow_id, version, status, document, "
            f"created_at) VALUES (1, 1, 1, 'finished', {doc(realtime)}, 0), "
            f"(1, 1, 2, 'active', {doc(realtime)}, 0), (1, 2, 1, 'active', {doc(event)}, 0), "
            f"(1, 3, 1, 'canceled', {doc(realtime)}, 0)",
            "INSERT INTO participations (account_id, flow_id, version, person_id, phase, "
            "element, entered_at, exited_at) VALUES (1, 1, 1, 1, 1, 'x', 10, 20), "
            "(1, 1, 2, 1, 1, 'x', 30, 40), (1, 1, 2, 2, 0, 'w', 50, NULL), "
            "(1, 2, 1, 3, 1, 'x', 10, 20), (1, 3, 1, 3, 1, 'x', 10, 20)",
        ]:
            conn.exec_driver_sql(sql)
    db.close()

    db = _at_revision(url, "head")
    with db.read() as conn:
        members = conn.exec_driver_sql(
            "SELECT account_id, flow_id, source, person_id FROM audience_members"
        ).all()
    db.close()
    keys = ["t:vip", "s:5", "sn:Zagreb", "cn:Acme", "p"]
    assert sorted(tuple(r) for r in members) == sorted(
        (1, 1, key, person) for key in keys for person in (1, 2)
    )

    db = _at_revision(url, "0014", down=True)
    with db.read() as conn:
        assert "audience_members" not in inspect(conn).get_table_names()
    db.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_0020_adds_sub_accounts_and_the_mep_roll_up_and_downgrade_takes_them_away(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Accounts keep their rows both ways (no parent before: NULL after); the roll-up's
    tables come and go."""
    url = _store_url(backend, request, tmp_path)
    db = _at_revision(url, "0019")
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO accounts (name, timezone, allow_private_urls, created_at) "
            "VALUES ('Old', 'Europe/Zagreb', false, 0)"
        )
    db.close()
    db = _at_revision(url, "0020")
    with db.write_engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        assert {"engaged_people", "engaged_counts"} <= tables
        rows = conn.exec_driver_sql("SELECT name, parent_id FROM accounts").all()
        assert [tuple(r) for r in rows] == [("Old", None)]
    db.close()
    db = _at_revision(url, "0019", down=True)
    with db.write_engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        assert not {"engaged_people", "engaged_counts"} & tables
        assert "parent_id" not in {c["name"] for c in inspect(conn).get_columns("accounts")}
        assert conn.exec_driver_sql("SELECT name FROM accounts").scalars().all() == ["Old"]
    db.close()
