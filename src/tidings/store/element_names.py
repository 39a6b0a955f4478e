"""Element names, beside their ids, in the answers a person reads (performance, the
journey trace, sandbox messages).

Rows keep only the element's id: a name is resolved when an answer is built, from the
stored document of the version that ran (one document a version, read once a request),
so no hot path writes a name per row and a rename in a later version leaves what an
earlier version did under its own name.

    names = ElementNames(conn, account_id)
    names.preload([(flow_id, version), ...])   # one query for a page of rows
    names.name(flow_id, version, "sms1")       # "Reminder SMS", or None
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, tuple_

from tidings.store.tables import flow_versions

Names = Mapping[str, str | None]


def names_of(document: Any) -> dict[str, str | None]:
    """Element id -> name (None without one) of a stored flow document."""
    out: dict[str, str | None] = {}
    elements = document.get("elements") if isinstance(document, dict) else None
    for element in elements if isinstance(elements, list) else ():
        if isinstance(element, dict) and isinstance(element.get("id"), str):
            name = element.get("name")
            out[element["id"]] = name if isinstance(name, str) else None
    return out


class ElementNames:
    """The element names of an account's flow versions, read once each within a request."""

    def __init__(self, conn: Connection, account_id: int) -> None:
        self._conn = conn
        self._account_id = account_id
        self._versions: dict[tuple[int, int], Names] = {}

    def preload(self, pairs: Iterable[tuple[int | None, int | None]]) -> None:
        """Read the documents of these (flow, version) pairs not read yet, in one query."""
        wanted = {
            (flow, version)
            for flow, version in pairs
            if flow is not None and version is not None and (flow, version) not in self._versions
        }
        if not wanted:
            return
        for pair in wanted:
            self._versions[pair] = {}  # a version deleted since has no names
        rows = self._conn.execute(
            select(flow_versions.c.flow_id, flow_versions.c.version, flow_versions.c.document)
            .where(flow_versions.c.account_id == self._account_id)
            .where(tuple_(flow_versions.c.flow_id, flow_versions.c.version).in_(sorted(wanted)))
        )
        for flow, version, document in rows:
            self._versions[(flow, version)] = names_of(document)

    def name(self, flow: int | None, version: int | None, element: str | None) -> str | None:
        """The name of `element` in that version of the flow; None when it has none."""
        if flow is None or version is None or element is None:
            return None
        if (flow, version) not in self._versions:
            self.preload([(flow, version)])
        return self._versions[(flow, version)].get(element)


def newest_names(conn: Connection, account_id: int, flow_id: int) -> dict[str, str | None]:
    """Each element id of any version of the flow -> its name in the newest version that
    has it (performance over all versions)."""
    out: dict[str, str | None] = {}
    for (document,) in conn.execute(
        select(flow_versions.c.document)
        .where(flow_versions.c.account_id == account_id, flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version)
    ):
        out.update(names_of(document))
    return out
