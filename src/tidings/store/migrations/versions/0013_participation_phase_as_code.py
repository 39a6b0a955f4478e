"""participations: the phase as a small integer code

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 23:00:00.000000

`phase` becomes SMALLINT: waiting 0, exited 1, running 2 (store/tables.py PHASES). SQLite
stores 0 and 1 in no bytes (the text took 7-8), PostgreSQL in 2. The store maps codes and
names at its edge; the API and the domain still speak the names.

The three indexes that name the phase (the partial due and awaiting indexes, and the
unique history index on an expression) are dropped first and made again after, with the
codes: on PostgreSQL they could not survive the change of type, and on SQLite the unique
index would refuse the rows while they are converted. SQLite converts the text in place,
then rebuilds the table in batch mode (INTEGER affinity stores the converted text as an
integer).
See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PHASES = ("waiting", "exited", "running")
TO_CODE = "CASE phase " + " ".join(f"WHEN '{n}' THEN {c}" for c, n in enumerate(PHASES)) + " END"
TO_NAME = "CASE phase " + " ".join(f"WHEN {c} THEN '{n}'" for c, n in enumerate(PHASES)) + " END"


def _drop_indexes() -> None:
    for name in (
        "uq_participations_history",
        "ix_participations_due",
        "ix_participations_awaiting",
    ):
        op.drop_index(name, table_name="participations")


def _create_indexes(waiting: str, exited: str) -> None:
    due = sa.text(f"phase = {waiting} AND wake_at IS NOT NULL")
    op.create_index(
        "ix_participations_due",
        "participations",
        ["wake_at"],
        sqlite_where=due,
        postgresql_where=due,
    )
    awaiting = sa.text(f"phase = {waiting}")
    op.create_index(
        "ix_participations_awaiting",
        "participations",
        ["person_id"],
        sqlite_where=awaiting,
        postgresql_where=awaiting,
    )
    op.create_index(
        "uq_participations_history",
        "participations",
        ["flow_id", "person_id", sa.text(f"(CASE WHEN (phase = {exited}) THEN id ELSE 0 END)")],
        unique=True,
    )


def _convert(to: sa.types.TypeEngine[Any], using: str, nullable: bool = False) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"UPDATE participations SET phase = {using}")
        with op.batch_alter_table("participations") as batch_op:
            batch_op.alter_column("phase", type_=to, existing_nullable=nullable)
    else:
        op.alter_column(
            "participations",
            "phase",
            type_=to,
            postgresql_using=using,
            existing_nullable=nullable,
        )


def upgrade() -> None:
    _drop_indexes()
    _convert(sa.SmallInteger(), TO_CODE)
    _create_indexes("0", "1")


def downgrade() -> None:
    _drop_indexes()
    _convert(sa.String(16), TO_NAME)
    _create_indexes("'waiting'", "'exited'")
