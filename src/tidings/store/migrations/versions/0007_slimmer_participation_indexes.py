"""participations: the history index without entered_at, the awaiting index by person first

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:20:00.000000

No query reads `entered_at` from ix_participations_history, nor the account from
ix_participations_awaiting: both lose those columns (~11 B a waiting person on SQLite).
The awaiting index keeps the event name after the person, as DESIGN.md has it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WAITING = sa.text("phase = 'waiting'")


def upgrade() -> None:
    with op.batch_alter_table("participations") as batch_op:
        batch_op.drop_index("ix_participations_history")
        batch_op.create_index("ix_participations_history", ["flow_id", "person_id"])
        batch_op.drop_index("ix_participations_awaiting")
        batch_op.create_index(
            "ix_participations_awaiting",
            ["person_id", "waiting_for"],
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table("participations") as batch_op:
        batch_op.drop_index("ix_participations_awaiting")
        batch_op.create_index(
            "ix_participations_awaiting",
            ["account_id", "person_id", "waiting_for"],
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )
        batch_op.drop_index("ix_participations_history")
        batch_op.create_index("ix_participations_history", ["flow_id", "person_id", "entered_at"])
