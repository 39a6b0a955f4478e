"""reports emailed to their readers (issue #17): reserved

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
