"""per-channel and time-series figures, people counted once (issue #17)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:30:00.000000

`flow_series` keeps the flow figures by UTC hour (store/counts.py). People are counted once
in counters (`uniqueEngagements` of an element, `people.*` of the flow; version 0: all
versions), so the performance answer reads counters only (store/counts.py says how they
are kept). The existing visits and entries are carried over here; goals and engagements
met before this migration are carried over as their counters were (per participation, an
upper bound), since no row says which person met them. `accounts.mep_subscription` is the
MEP a subscription includes (the MEP dashboard shows the month's use of it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flow_series",
        sa.Column(
            "account_id",
            Id,
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_flow_series_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column(
            "flow_id",
            Id,
            sa.ForeignKey("flows.id", ondelete="CASCADE", name="fk_flow_series_flow_id_flows"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "version", "hour", "name", name="pk_flow_series"),
        sqlite_with_rowid=False,
    )
    op.add_column("accounts", sa.Column("mep_subscription", sa.BigInteger()))
    run = op.execute
    # an element's unique engagements and the flow's people, as counters
    run(
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
        "SELECT account_id, flow_id, version, element, 'uniqueEngagements', count(*) "
        "FROM element_visits GROUP BY account_id, flow_id, version, element"
    )
    run(
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
        "SELECT account_id, flow_id, version, '', 'people.profilesInFlow', "
        "count(DISTINCT person_id) FROM participations GROUP BY account_id, flow_id, version"
    )
    run(
        "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
        "SELECT account_id, flow_id, 0, '', 'people.profilesInFlow', "
        "count(DISTINCT person_id) FROM participations GROUP BY account_id, flow_id"
    )
    for name in ("activeProfiles", "goalPerformers"):
        run(
            "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
            f"SELECT account_id, flow_id, version, '', 'people.{name}', value "
            f"FROM flow_counters WHERE element = '' AND name = '{name}' AND value > 0"
        )
        run(
            "INSERT INTO flow_counters (account_id, flow_id, version, element, name, value) "
            f"SELECT account_id, flow_id, 0, '', 'people.{name}', sum(value) "
            f"FROM flow_counters WHERE element = '' AND name = '{name}' AND version > 0 "
            "GROUP BY account_id, flow_id HAVING sum(value) > 0"
        )


def downgrade() -> None:
    op.execute(
        "DELETE FROM flow_counters WHERE version = 0 OR name LIKE 'people.%' "
        "OR name = 'uniqueEngagements' OR name LIKE 'channel.%'"
    )
    op.execute("DELETE FROM element_visits WHERE version = 0 OR element LIKE '#%'")
    op.drop_table("flow_series")
    # not batch mode, which would copy `accounts` (see 0020): ALTER TABLE DROP COLUMN
    op.drop_column("accounts", "mep_subscription")
