"""API keys, sub-accounts and the monthly engaged persons roll-up (issue #17)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 17:30:00.000000
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
