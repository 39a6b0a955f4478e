"""A flow's performance report: flow and element figures, over all versions or one
(`store/performance.py` reads the counters; see its doc for what each figure means)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.store import flows
from tidings.store.performance import performance


def flow_performance(
    conn: Connection, account_id: int, flow_id: int, version: int | None
) -> dict[str, Any]:
    """The report of the flow's `version` (None: all): NotFound for a flow or a version
    the account does not have."""
    flows.read_flow(conn, account_id, flow_id)
    if version is not None:
        flows.read_version(conn, account_id, flow_id, version)
    return performance(conn, account_id, flow_id, version)
