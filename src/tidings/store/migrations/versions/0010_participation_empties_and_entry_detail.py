"""participations: empty JSON as NULL, no updated_at, the entry's trace as a shared detail

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:00:00.000000

- `variables`, `local` and `message_events` become nullable, and NULL when empty (`{}`,
  `[]`): readers take NULL as empty. Existing empties are converted.
- `updated_at` goes: nothing read it but the engine, in memory, for the batch's instant.
- `entry_detail`: the shared trace detail (journey_step_details) of a set-based entry's
  lines, read at `entered_at`, instead of a journey_steps row a participation. Existing
  entries keep their trace rows (the column is NULL on them).

SQLite rebuilds the table in batch mode: the index on an expression is dropped before and
created again after (SQLAlchemy does not reflect it), and the partial indexes are made
again explicitly, with their WHERE.
See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
LIVE_OR_ID = sa.text("(CASE WHEN (phase = 'exited') THEN id ELSE 0 END)")
WAITING = sa.text("phase = 'waiting'")
DUE = sa.text("phase = 'waiting' AND wake_at IS NOT NULL")
EMPTIES = {"variables": "{}", "local": "{}", "message_events": "[]"}


def _rebuild_indexes(batch_op: BatchOperations) -> None:
    """SQLite's rebuild keeps the indexes it can reflect; these are made again as they are."""
    batch_op.drop_index("ix_participations_due")
    batch_op.create_index(
        "ix_participations_due", ["wake_at"], sqlite_where=DUE, postgresql_where=DUE
    )
    batch_op.drop_index("ix_participations_awaiting")
    batch_op.create_index(
        "ix_participations_awaiting",
        ["person_id", "waiting_for"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
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


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _no_history_index()
    with op.batch_alter_table("participations") as batch_op:
        for name in EMPTIES:
            batch_op.alter_column(name, existing_type=Json, nullable=True)
        batch_op.drop_column("updated_at")
        batch_op.add_column(sa.Column("entry_detail", Id, nullable=True))
        if sqlite:
            _rebuild_indexes(batch_op)
    _history_index()
    for name, empty in EMPTIES.items():
        value = f"'{empty}'" if sqlite else f"'{empty}'::jsonb"
        op.execute(f"UPDATE participations SET {name} = NULL WHERE {name} = {value}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # an entry's lines become its trace row again
    op.execute(
        "INSERT INTO journey_steps (account_id, person_id, flow_id, version, "
        "participation_id, detail_id, at) SELECT account_id, person_id, flow_id, version, id, "
        "entry_detail, entered_at FROM participations WHERE entry_detail IS NOT NULL "
        "ORDER BY id"
    )
    for name, empty in EMPTIES.items():
        value = f"'{empty}'" if sqlite else f"'{empty}'::jsonb"
        op.execute(f"UPDATE participations SET {name} = {value} WHERE {name} IS NULL")
    _no_history_index()
    with op.batch_alter_table("participations") as batch_op:
        # nothing read updated_at: the last instant the row has stands in for it
        batch_op.add_column(sa.Column("updated_at", sa.BigInteger(), nullable=True))
        batch_op.drop_column("entry_detail")
        for name in EMPTIES:
            batch_op.alter_column(name, existing_type=Json, nullable=False)
    op.execute("UPDATE participations SET updated_at = coalesce(exited_at, entered_at)")
    with op.batch_alter_table("participations") as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.BigInteger(), nullable=False)
        if sqlite:
            _rebuild_indexes(batch_op)
    _history_index()
