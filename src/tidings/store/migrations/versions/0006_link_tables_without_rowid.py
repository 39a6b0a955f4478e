"""per-person link tables are stored by their primary key on SQLite (WITHOUT ROWID)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:00:00.000000

person_contacts, person_tags, person_companies and element_visits are rows made of their
primary key; as rowid tables SQLite kept each row twice, in the table and in the key's
index. Rebuilt as WITHOUT ROWID tables (rows copied, indexes recreated). PostgreSQL has
no such choice: nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("person_contacts", "person_tags", "person_companies", "element_visits")


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
