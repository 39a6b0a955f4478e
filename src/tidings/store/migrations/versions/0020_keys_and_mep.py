"""API keys, sub-accounts and the monthly engaged persons roll-up (issue #17)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 17:30:00.000000

An account created by another account's admin key is its sub-account (`parent_id`); a
key keeps when it was last used (`last_used_at`).
`engaged_people` keeps one row a person and calendar month of the account's zone (the
first flow entry), written with the entry; `engaged_counts` adds them up by the flow of
that first entry, so GET /mep reads a few rows however many people (store/mep.py).
Entries made before this revision are not counted (nothing to fill from: a month's
first entries of the past are not all kept).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("accounts", sa.Column("parent_id", Id))
    op.add_column("api_keys", sa.Column("last_used_at", sa.BigInteger()))
    op.create_index("ix_accounts_parent_id", "accounts", ["parent_id"])
    op.create_table(
        "engaged_people",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("engaged_at", sa.BigInteger(), nullable=False),
        sa.Column("flow_id", Id, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_engaged_people_account_id_accounts",
        ),
        sa.PrimaryKeyConstraint("account_id", "month", "person_id", name="pk_engaged_people"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "engaged_counts",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("flow_id", Id, nullable=False),
        sa.Column("engaged", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_engaged_counts_account_id_accounts",
        ),
        sa.PrimaryKeyConstraint("account_id", "month", "flow_id", name="pk_engaged_counts"),
    )


def downgrade() -> None:
    op.drop_table("engaged_counts")
    op.drop_table("engaged_people")
    op.drop_index("ix_accounts_parent_id", table_name="accounts")
    # Not batch mode: on SQLite it would copy `accounts`, and dropping the old table would
    # cascade to every table that refers to it. ALTER TABLE DROP COLUMN (SQLite 3.35+).
    op.drop_column("accounts", "parent_id")
    op.drop_column("api_keys", "last_used_at")
