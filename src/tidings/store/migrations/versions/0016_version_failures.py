"""flow_versions: why a version failed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:30:00.000000

An error raised while one version's work is done fails that version alone
(engine/failures.py): its status becomes `failed` and this column keeps the reason,
shown in `GET /flows/{id}` and the version history. Its waiting people are held
(participations.phase = 3, `held`), out of every due index, until the version is
canceled. Adding a nullable column rewrites nothing on either database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flow_versions", sa.Column("failure", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flow_versions") as batch:
        batch.drop_column("failure")
