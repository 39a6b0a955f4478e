"""reports emailed to their readers (issue #17)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 21:00:00.000000

`report_emails` keeps, for a report asked for with `email`, to whom and through which
connection it is sent when it is done, and how the send went (store/report_emails.py,
services/report_emails.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DUE = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_table(
        "report_emails",
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_report_emails_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column(
            "report_id",
            Id,
            sa.ForeignKey(
                "reports.id", ondelete="CASCADE", name="fk_report_emails_report_id_reports"
            ),
            nullable=False,
        ),
        sa.Column("recipients", Json, nullable=False),
        sa.Column("sender", sa.String(320)),
        sa.Column(
            "connection_id",
            Id,
            sa.ForeignKey(
                "connections.id",
                ondelete="SET NULL",
                name="fk_report_emails_connection_id_connections",
            ),
        ),
        sa.Column("outcomes", Json),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.BigInteger()),
        sa.Column("lease_until", sa.BigInteger()),
        sa.Column("sent_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("report_id", name="pk_report_emails"),
    )
    op.create_index(
        "ix_report_emails_due",
        "report_emails",
        ["due_at"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_report_emails_due", table_name="report_emails")
    op.drop_table("report_emails")
