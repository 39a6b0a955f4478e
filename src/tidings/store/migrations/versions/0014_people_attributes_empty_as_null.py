"""people: no custom attributes is NULL, not '{}'

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 23:00:00.000000

`people.attributes` becomes nullable and is NULL when a person has no custom attributes
(store/tables.py `EmptyAsNull` reads it back as `{}`); existing empties are converted.
SQL over the document reads NULL as it reads a missing key.

PostgreSQL drops the constraint. SQLite cannot alter a column, and the batch mode's
rebuild would DROP `people`: with foreign keys on (they are on, and cannot be turned off
inside the migration's transaction) that drop deletes every person first, and the
cascade takes their contacts, tags, companies, events and participations with them. So
on SQLite the constraint is edited in the table's stored definition, the procedure
SQLite documents for removing a NOT NULL constraint (lang_altertable.html, "Making Other
Kinds Of Table Schema Changes"): no row is read or copied, the schema version is bumped
so every connection reads the definition again, and nothing else names the column.
Downgrade fills NULL with '{}' and puts the constraint back the same way.
See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB()
# The column in the table's definition as SQLAlchemy wrote it ("attributes JSON NOT NULL, ")
NOT_NULL = re.compile(r"(\battributes JSON) NOT NULL(?=\s*,)")
NULLABLE = re.compile(r"(\battributes JSON)(?=\s*,)")


def _sqlite_not_null(not_null: bool) -> None:
    bind = op.get_bind()
    sql = str(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'people'"
        ).scalar_one()
    )
    pattern, replacement = (NULLABLE, r"\1 NOT NULL") if not_null else (NOT_NULL, r"\1")
    changed, found = pattern.subn(replacement, sql)
    if found != 1:
        raise RuntimeError(f"people.attributes not found once in the table's definition: {sql}")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'people'",
            (changed,),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(False)
        op.execute("UPDATE people SET attributes = NULL WHERE attributes = '{}'")
    else:
        op.alter_column("people", "attributes", existing_type=JSONB, nullable=True)
        op.execute("UPDATE people SET attributes = NULL WHERE attributes = '{}'::jsonb")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE people SET attributes = '{}' WHERE attributes IS NULL")
        _sqlite_not_null(True)
    else:
        op.execute("UPDATE people SET attributes = '{}'::jsonb WHERE attributes IS NULL")
        op.alter_column("people", "attributes", existing_type=JSONB, nullable=False)
