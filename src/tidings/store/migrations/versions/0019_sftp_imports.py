"""SFTP connections and the imports an sftp entry made (issue #17)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 17:30:00.000000

`sftp_connections` (an account's SFTP servers, the host key pinned, the secret
write-only), `sftp_polls` (when each running sftp entry polls next) and `sftp_imports`
(the import performance table: one row a file imported or a poll that failed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _account(table: str) -> sa.Column[int]:
    return sa.Column(
        "account_id",
        Id,
        sa.ForeignKey("accounts.id", ondelete="CASCADE", name=f"fk_{table}_account_id_accounts"),
        nullable=False,
    )


def _flow(table: str) -> sa.Column[int]:
    return sa.Column(
        "flow_id",
        Id,
        sa.ForeignKey("flows.id", ondelete="CASCADE", name=f"fk_{table}_flow_id_flows"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "sftp_connections",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _account("sftp_connections"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("secrets", Json, nullable=False),
        sa.Column("host_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sftp_connections"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sftp_polls",
        _account("sftp_polls"),
        _flow("sftp_polls"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("polled_at", sa.BigInteger(), nullable=False),
        sa.Column("next_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "version", name="pk_sftp_polls"),
    )
    op.create_table(
        "sftp_imports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _account("sftp_imports"),
        _flow("sftp_imports"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.BigInteger(), nullable=False),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("file", sa.String(1024)),
        sa.Column("checksum", sa.String(64)),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_sftp_imports"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sftp_imports_flow", "sftp_imports", ["flow_id", "id"])
    op.create_index("ix_sftp_imports_file", "sftp_imports", ["flow_id", "file", "checksum"])


def downgrade() -> None:
    op.drop_table("sftp_imports")
    op.drop_table("sftp_polls")
    op.drop_table("sftp_connections")
