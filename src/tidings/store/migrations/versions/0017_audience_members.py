"""audience_members: a real-time audience's members, source by source

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:00:00.000000

The real-time refresh let in only people who were never in the flow; now a person who
joins one of the audience's sources (a tag, a segment, a company, the people named)
enters as the re-entry settings allow (store/audience.refresh_members). A join is told
from a stay by the members the last refresh saw, kept here by flow and source (stored by
its key on SQLite, WITHOUT ROWID, like the link tables).

Every running (active or paused) real-time version is seeded with everyone ever in its
flow as a member of each source: the first refresh drops those who no longer belong (they
join again later), keeps the others (who stay, and do not enter again by staying: as
before the upgrade), and lets in the members never in the flow (as before).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _keys(entry: dict[str, Any]) -> list[str]:
    """store/audience.source_keys, as of this revision."""
    keys: list[str] = []
    for segment in entry.get("segments") or []:
        keys.append(f"s:{segment}" if isinstance(segment, int) else f"sn:{segment}")
    keys += [f"t:{tag}" for tag in entry.get("tags") or []]
    for company in entry.get("companies") or []:
        keys.append(f"c:{company}" if isinstance(company, int) else f"cn:{company}")
    if entry.get("people"):
        keys.append("p")
    return list(dict.fromkeys(keys))


def upgrade() -> None:
    op.create_table(
        "audience_members",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("flow_id", Id, nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_audience_members_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["flows.id"],
            name=op.f("fk_audience_members_flow_id_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flow_id", "source", "person_id", name=op.f("pk_audience_members")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    running = bind.execute(
        sa.text(
            "SELECT account_id, flow_id, document FROM flow_versions "
            "WHERE status IN ('active', 'paused')"
        )
    ).all()
    for account_id, flow_id, document in running:
        doc = json.loads(document) if isinstance(document, str | bytes) else document
        entry = (doc or {}).get("entry") or {}
        if entry.get("type") != "audience" or entry.get("update") != "realtime":
            continue
        for key in _keys(entry):
            bind.execute(
                sa.text(
                    "INSERT INTO audience_members (account_id, flow_id, source, person_id) "
                    "SELECT DISTINCT account_id, flow_id, CAST(:source AS VARCHAR(300)), person_id "
                    "FROM participations "
                    "WHERE account_id = :account AND flow_id = :flow"
                ),
                {"account": account_id, "flow": flow_id, "source": key},
            )


def downgrade() -> None:
    op.drop_table("audience_members")
