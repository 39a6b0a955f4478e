"""participations: no partition column

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 22:30:00.000000

A person's partition is person_id % P, P fixed at install (DESIGN.md): the engine's reads
of owned partitions compute it (as they did for the outbox), and no index has it. ~2.5 B a
participation on SQLite.

SQLite rebuilds the table in batch mode: the index on an expression is dropped before and
created again after (SQLAlchemy does not reflect it), and the partial indexes are made
again explicitly, with their WHERE. Downgrade computes the column again, with P the count
of partition lease rows when there are any, else TIDINGS_PARTITIONS, else 256 (the
default).
See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LIVE_OR_ID = sa.text("(CASE WHEN (phase = 'exited') THEN id ELSE 0 END)")
WAITING = sa.text("phase = 'waiting'")
DUE = sa.text("phase = 'waiting' AND wake_at IS NOT NULL")


def _rebuild_indexes(batch_op: BatchOperations) -> None:
    """SQLite's rebuild keeps the indexes it can reflect; these are made again as they are."""
    batch_op.drop_index("ix_participations_due")
    batch_op.create_index(
        "ix_participations_due", ["wake_at"], sqlite_where=DUE, postgresql_where=DUE
    )
    batch_op.drop_index("ix_participations_awaiting")
    batch_op.create_index(
        "ix_participations_awaiting", ["person_id"], sqlite_where=WAITING, postgresql_where=WAITING
    )


def _no_history_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("uq_participations_history", table_name="participations")


def _history_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "uq_participations_history",
            "participations",
            ["flow_id", "person_id", LIVE_OR_ID],
            unique=True,
        )


def _partitions() -> int:
    leases = op.get_bind().exec_driver_sql("SELECT count(*) FROM partition_leases").scalar()
    return int(leases or os.environ.get("TIDINGS_PARTITIONS") or 256)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _no_history_index()
    with op.batch_alter_table("participations") as batch_op:
        batch_op.drop_column("partition")
        if sqlite:
            _rebuild_indexes(batch_op)
    _history_index()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    n = _partitions()
    _no_history_index()
    with op.batch_alter_table("participations") as batch_op:
        batch_op.add_column(sa.Column("partition", sa.Integer(), nullable=True))
    op.execute(f"UPDATE participations SET partition = person_id - person_id / {n} * {n}")
    with op.batch_alter_table("participations") as batch_op:
        batch_op.alter_column("partition", existing_type=sa.Integer(), nullable=False)
        if sqlite:
            _rebuild_indexes(batch_op)
    _history_index()
