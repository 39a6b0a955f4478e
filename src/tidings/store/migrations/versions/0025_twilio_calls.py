"""Twilio: inbound calls, prices and re-sends that never send twice (issue #15): reserved

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
