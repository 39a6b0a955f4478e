"""participations: the awaiting index by person alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 22:00:00.000000

Every query that reads waiting participations probes by person and reads all of a
person's waiting rows (few), then checks the event on the row: the event name after the
person was never searched on (the name's length plus a byte a waiting person; ~5 B in the
parked bench). The index is partial as before (waiting rows only); no rebuild of the table.
See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WAITING = sa.text("phase = 'waiting'")


def _awaiting(columns: list[str]) -> None:
    op.drop_index("ix_participations_awaiting", table_name="participations")
    op.create_index(
        "ix_participations_awaiting",
        "participations",
        columns,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def upgrade() -> None:
    _awaiting(["person_id"])


def downgrade() -> None:
    _awaiting(["person_id", "waiting_for"])
