"""per-channel and time-series figures, people counted once (issue #17)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:30:00.000000
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
