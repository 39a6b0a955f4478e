"""Twilio: inbound calls, prices and re-sends that never send twice (issue #15).

No schema change was needed: inbound Twilio calls live in `live_calls` (0023) like
Infobip's; an ended call's price is asked by an outbox row of kind `price`; a re-send's
unknown earlier try is read from the outbox row's own status (`sending`). The revision is
kept so the chain stays as reserved.

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
