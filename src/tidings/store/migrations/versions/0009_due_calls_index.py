"""outbox: an index of the API calls due (pending or in flight), by time

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 19:40:00.000000

Claiming due `call_api` rows (`status IN ('pending', 'sending')`) could not use the index
of pending rows, so every claim read the whole outbox in id order: each round of the
engine cost more as calls accumulated (a 20-second `journeys-http` run leaves ~40,000).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DUE_CALLS = sa.text("kind = 'call_api' AND status IN ('pending', 'sending')")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_due_calls",
        "outbox",
        ["next_attempt_at"],
        sqlite_where=DUE_CALLS,
        postgresql_where=DUE_CALLS,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_due_calls", table_name="outbox")
