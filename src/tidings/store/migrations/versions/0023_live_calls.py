"""inbound calls in IVR (issue #15)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 20:10:00.000000

`live_calls` keeps each call to an Infobip connection's number while it lasts: its
state (ringing, answered, ending, ended) and the voice message it is playing
(store/live_calls.py, services/calls.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "live_calls",
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_live_calls_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            Id,
            sa.ForeignKey("people.id", ondelete="CASCADE", name="fk_live_calls_person_id_people"),
            nullable=False,
        ),
        sa.Column(
            "connection_id",
            Id,
            sa.ForeignKey(
                "connections.id",
                ondelete="CASCADE",
                name="fk_live_calls_connection_id_connections",
            ),
            nullable=False,
        ),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", Id),
        sa.Column("capturing", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "connection_id", "call_id", name="pk_live_calls"),
    )
    op.create_index("ix_live_calls_call", "live_calls", ["connection_id", "call_id"], unique=True)


def downgrade() -> None:
    op.drop_table("live_calls")
