"""participations: one unique index by flow and person instead of two

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 19:40:00.000000

ix_participations_history (flow_id, person_id) and the partial unique
uq_participations_live (flow_id, person_id) WHERE phase != 'exited' had the same key.
uq_participations_history (flow_id, person_id, CASE WHEN phase = 'exited' THEN id ELSE 0
END) is unique: a live participation has 0 in the third column, so a person has at most
one live participation in a flow, and an exited one has its own id. It serves every
query the history index served (they name its first two columns).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LIVE_OR_ID = sa.text("(CASE WHEN (phase = 'exited') THEN id ELSE 0 END)")
LIVE = sa.text("phase != 'exited'")


def upgrade() -> None:
    op.create_index(
        "uq_participations_history",
        "participations",
        ["flow_id", "person_id", LIVE_OR_ID],
        unique=True,
    )
    op.drop_index("uq_participations_live", table_name="participations")
    op.drop_index("ix_participations_history", table_name="participations")


def downgrade() -> None:
    op.create_index("ix_participations_history", "participations", ["flow_id", "person_id"])
    op.create_index(
        "uq_participations_live",
        "participations",
        ["flow_id", "person_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.drop_index("uq_participations_history", table_name="participations")
