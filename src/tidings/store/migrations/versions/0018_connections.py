"""connections, and the outbox columns of messages that go out through one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 15:30:00.000000

A connection is an account's link to a provider (Infobip, Twilio, an SMTP server); a
message routed through one keeps its id on its outbox row, with the provider's own id,
its price and a failure's reason, and is claimed by the provider dispatcher through
`ix_outbox_due_provider` (engine/sending.py). Messages without a connection go to the
sandbox as before. `server_secrets` keeps the key that signs tracking links. A person's
`unsubscribed` channels (consent) are kept on their row, an account's price table on its.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DUE = "connection_id IS NOT NULL AND status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_secrets"),
    )
    op.create_table(
        "connections",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey(
                "accounts.id",
                ondelete="CASCADE",
                name="fk_connections_account_id_accounts",
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("channels", Json, nullable=False),
        sa.Column("settings", Json, nullable=False),
        sa.Column("default_since", sa.BigInteger()),
        sa.Column("webhook_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint("webhook_token", name="uq_connections_webhook_token"),
        sqlite_autoincrement=True,
    )
    op.add_column("people", sa.Column("unsubscribed", sa.String(64)))
    op.add_column("accounts", sa.Column("prices", Json))
    op.add_column("outbox", sa.Column("connection_id", Id))
    op.add_column("outbox", sa.Column("provider_id", sa.String(64)))
    op.add_column("outbox", sa.Column("price", sa.Float()))
    op.add_column("outbox", sa.Column("reason", sa.String(500)))
    op.add_column("outbox", sa.Column("seen_at", sa.BigInteger()))
    op.add_column("outbox", sa.Column("clicked_at", sa.BigInteger()))
    # the sandbox's pending index leaves the provider's messages out (they have their own)
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at"],
        sqlite_where=sa.text("status = 'pending' AND connection_id IS NULL"),
        postgresql_where=sa.text("status = 'pending' AND connection_id IS NULL"),
    )
    op.create_index(
        "ix_outbox_due_provider",
        "outbox",
        ["next_attempt_at"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_due_provider", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    # Not batch mode: on SQLite it would copy `people`, and dropping the old table would
    # cascade to every table that refers to it. ALTER TABLE DROP COLUMN (SQLite 3.35+).
    for column in ("clicked_at", "seen_at", "reason", "price", "provider_id", "connection_id"):
        op.drop_column("outbox", column)
    op.drop_column("people", "unsubscribed")
    op.drop_column("accounts", "prices")
    op.drop_table("connections")
    op.drop_table("server_secrets")
