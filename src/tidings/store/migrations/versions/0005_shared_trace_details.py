"""trace: details shared by several rows are stored once; no index on the rows' time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:40:00.000000

`journey_step_details` holds a detail (kind, element, lines) once per day for all the rows
that have it; such rows keep only its id (`detail_id`), and `kind` and `detail` become
NULL on them. Existing rows are converted: a detail that two rows or more of one day
have is moved to the new table. Retention now goes in id order, so `ix_journey_steps_at`
goes; the index by person leads with the person (the cascade of a person's delete uses
it too). See docs/decisions/2026-11-25-parked-store-size.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DAY = 86_400 * 1_000_000  # as store/traces.py
CHUNK = 5_000
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _text(value: Any) -> str:
    """JSON as text, whether the driver gives text (SQLite) or values (PostgreSQL)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _digest(account_id: int, kind: str, element: str | None, detail: str) -> bytes:
    """As store/traces.py's `_digest`: rows written later find these details."""
    return hashlib.blake2b(
        orjson.dumps([account_id, kind, element, detail]), digest_size=16
    ).digest()


def upgrade() -> None:
    op.create_table(
        "journey_step_details",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=True),
        sa.Column("detail", Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_journey_step_details_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_step_details")),
        sa.UniqueConstraint("day", "digest", name="uq_journey_step_details_day"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table(
        "journey_steps", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("detail_id", Id, nullable=True))
        batch_op.alter_column("kind", existing_type=sa.String(length=32), nullable=True)
        batch_op.alter_column("detail", existing_type=Json, nullable=True)
        batch_op.drop_index("ix_journey_steps_at")
        batch_op.drop_index("ix_journey_steps_person")
        batch_op.create_index("ix_journey_steps_person", ["person_id", "id"], unique=False)
    _share_details()


def _share_details() -> None:
    """Move each detail that two rows or more of one day have to journey_step_details."""
    conn = op.get_bind()
    json = "CAST(:detail AS JSONB)" if conn.dialect.name == "postgresql" else ":detail"
    shared: dict[tuple[int, str, str | None, str, int], int] = {}
    groups = conn.execute(
        sa.text(
            f"SELECT account_id, kind, element, detail, at / {DAY} FROM journey_steps "
            "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1"
        )
    ).all()
    for account_id, kind, element, detail, day in groups:
        text = _text(detail)
        digest = _digest(account_id, kind, element, text)
        values = {"account_id": account_id, "day": day, "digest": digest, "kind": kind}
        conn.execute(
            sa.text(
                "INSERT INTO journey_step_details (account_id, day, digest, kind, element, "
                f"detail) VALUES (:account_id, :day, :digest, :kind, :element, {json})"
            ),
            {**values, "element": element, "detail": text},
        )
        found = conn.execute(
            sa.text("SELECT id FROM journey_step_details WHERE day = :day AND digest = :digest"),
            {"day": day, "digest": digest},
        ).scalar_one()
        shared[(account_id, kind, element, text, day)] = int(found)
    if not shared:
        return
    after = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, account_id, kind, element, detail, at FROM journey_steps "
                "WHERE id > :after ORDER BY id LIMIT :limit"
            ),
            {"after": after, "limit": CHUNK},
        ).all()
        if not rows:
            return
        after = rows[-1][0]
        moved = []
        for step_id, account_id, kind, element, detail, at in rows:
            found = shared.get((account_id, kind, element, _text(detail), at // DAY))
            if found is not None:
                moved.append({"detail_id": found, "id": step_id})
        if moved:
            conn.execute(
                sa.text(
                    "UPDATE journey_steps SET detail_id = :detail_id, element = NULL, "
                    "kind = NULL, detail = NULL WHERE id = :id"
                ),
                moved,
            )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "DELETE FROM journey_steps WHERE detail_id IS NOT NULL AND detail_id NOT IN "
            "(SELECT id FROM journey_step_details)"
        )
    )
    for column in ("element", "kind", "detail"):
        conn.execute(
            sa.text(
                f"UPDATE journey_steps SET {column} = (SELECT d.{column} FROM "
                "journey_step_details d WHERE d.id = journey_steps.detail_id) "
                "WHERE detail_id IS NOT NULL"
            )
        )
    with op.batch_alter_table(
        "journey_steps", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_index("ix_journey_steps_person")
        batch_op.create_index(
            "ix_journey_steps_person", ["account_id", "person_id", "id"], unique=False
        )
        batch_op.create_index("ix_journey_steps_at", ["at"], unique=False)
        batch_op.alter_column("detail", existing_type=Json, nullable=False)
        batch_op.alter_column("kind", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("detail_id")
    op.drop_table("journey_step_details")
