"""reports made in the background (issue #17)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 17:30:00.000000

`reports` keeps each report asked for (`POST /reports`) and its state; the report worker
(services/report_worker.py) claims pending ones and writes the file into `report_chunks`,
a MiB a row, read back in order by `GET /reports/{id}/file`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DUE = "status IN ('pending', 'running')"


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey("accounts.id", ondelete="CASCADE", name="fk_reports_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("request", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.BigInteger()),
        sa.Column("rows", sa.BigInteger()),
        sa.Column("size", sa.BigInteger()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reports_account", "reports", ["account_id", "id"])
    op.create_index(
        "ix_reports_due",
        "reports",
        ["id"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )
    op.create_table(
        "report_chunks",
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_report_chunks_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column(
            "report_id",
            Id,
            sa.ForeignKey(
                "reports.id", ondelete="CASCADE", name="fk_report_chunks_report_id_reports"
            ),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", "seq", name="pk_report_chunks"),
    )


def downgrade() -> None:
    op.drop_table("report_chunks")
    op.drop_index("ix_reports_due", table_name="reports")
    op.drop_index("ix_reports_account", table_name="reports")
    op.drop_table("reports")
