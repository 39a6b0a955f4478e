"""Migrations build exactly the schema of `tables.py`, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tidings.bootstrap import Tidings
from tidings.store.database import MIGRATIONS
from tidings.store.tables import metadata


def test_migrated_schema_matches_the_tables(system: Tidings) -> None:
    with system.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migrating_again_changes_nothing(system: Tidings) -> None:
    system.db.migrate()
    with system.db.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    script = ScriptDirectory(str(MIGRATIONS))
    assert version == script.get_current_head()
