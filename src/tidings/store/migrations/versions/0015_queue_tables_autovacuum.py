"""PostgreSQL: per-table autovacuum and statistics settings for the busy tables

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00.000000

Under sustained load (docs/decisions/2026-12-04-postgresql-sustained-load.md) the engine's
queue-like tables churn: every inbox row is deleted within a round, every API call's
outbox row is updated twice, a journey's participation once or twice. With the defaults
(vacuum at 20% dead rows, analyze at 10% changed) a queue of a few hundred live rows
carried tens of thousands of dead ones between autovacuum's visits, and growing tables
(people, participations, events) were planned on statistics of a table a tenth of their
size. Here each table gets thresholds by its shape:

- `inbox`: a queue (rows live for a round): vacuumed once 1,000 rows are dead, whatever
  its size; no cost delay (it is small, and every round reads its head).
- `outbox`, `participations`: updated in place; vacuumed at 5% dead (plus 1,000),
  analyzed at 2% changed.
- `people`, `events`, `element_visits`, `journey_steps`: growing; analyzed at 2%
  changed, and vacuumed after 5% inserts (the visibility map, for index-only scans).
- `flow_counters`, `partition_leases`: a few rows updated all the time (counters, lease
  renewals); fillfactor 50 keeps room on each page for the new versions (HOT updates,
  no index entry each), vacuumed at 200 dead rows.

SQLite has no such settings: nothing to do there. Downgrade resets them.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SETTINGS: dict[str, dict[str, str]] = {
    "inbox": {
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_vacuum_insert_scale_factor": "0",
        "autovacuum_vacuum_insert_threshold": "5000",
        "autovacuum_analyze_scale_factor": "0",
        "autovacuum_analyze_threshold": "5000",
        "autovacuum_vacuum_cost_delay": "0",
    },
    "outbox": {
        "autovacuum_vacuum_scale_factor": "0.05",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_analyze_scale_factor": "0.02",
        "autovacuum_vacuum_cost_delay": "0",
    },
    "participations": {
        "autovacuum_vacuum_scale_factor": "0.05",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_analyze_scale_factor": "0.02",
    },
    **{
        table: {
            "autovacuum_analyze_scale_factor": "0.02",
            "autovacuum_vacuum_insert_scale_factor": "0.05",
        }
        for table in ("people", "events", "element_visits", "journey_steps")
    },
    **{
        table: {
            "fillfactor": "50",
            "autovacuum_vacuum_scale_factor": "0",
            "autovacuum_vacuum_threshold": "200",
            "autovacuum_vacuum_cost_delay": "0",
        }
        for table in ("flow_counters", "partition_leases")
    },
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, settings in SETTINGS.items():
        values = ", ".join(f"{name} = {value}" for name, value in settings.items())
        op.execute(f"ALTER TABLE {table} SET ({values})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, settings in SETTINGS.items():
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(settings)})")
