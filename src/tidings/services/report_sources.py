"""What each type of report holds: a registry from the report's type to its source, a
function `(conn, account_id, request) -> (header, rows)` whose rows are an iterator (a
source of millions streams them from a cursor; the file writer takes one at a time).

A type that is not in `SOURCES` is refused at `POST /reports` (422 naming `type`): to
add one, write its source and add it to `SOURCES` here (and its checks of the request,
if any, to services/reports.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tidings.analytics.performance import flow_performance
from tidings.domain.durations import parse_instant
from tidings.domain.journey.run import GOAL, GOAL_VALUE
from tidings.domain.months import parse_month
from tidings.services.report_files import Cell
from tidings.store import flows, mep, sftp
from tidings.store.reports import participation_rows

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TYPES = ("flow", "channels", "participants", "mep", "imports")


@dataclass(frozen=True)
class ReportRequest:
    """A report as asked for (`POST /reports`), its fields checked."""

    type: str
    flow: int | None = None
    version: int | None = None
    month: str | None = None
    accounts: tuple[int, ...] | None = None

    @classmethod
    def of(cls, type: str, stored: dict[str, Any]) -> ReportRequest:
        accounts = stored.get("accounts")
        return cls(
            type=type,
            flow=stored.get("flow"),
            version=stored.get("version"),
            month=stored.get("month"),
            accounts=None if accounts is None else tuple(accounts),
        )


Table = tuple[list[str], Iterator[Sequence[Cell]]]
Source = Callable[[Connection, int, ReportRequest], Table]

# --- flow: the flow's figures and each element's --------------------------------------

FLOW_FIGURES = (
    "profilesInFlow",
    "profilesExited",
    "activeProfiles",
    "goalPerformers",
    "goalValue",
    "conversionRate",
)
SHARED_FIGURES = ("messagesSent", "trafficCost", "sendsDeferred", "sendsDropped")
ELEMENT_FIGURES = ("totalEngagements", "uniqueEngagements")


def _flow_id(request: ReportRequest) -> int:
    assert request.flow is not None  # checked when the report was asked for
    return request.flow


def flow_table(conn: Connection, account_id: int, request: ReportRequest) -> Table:
    """A row for the flow, then one per element (GET /flows/{id}/performance's figures
    under the same names); refusals by reason in `refused.<reason>` columns."""
    flow_id = _flow_id(request)
    name = flows.read_flow(conn, account_id, flow_id).name
    answer = flow_performance(conn, account_id, flow_id, request.version)
    figures, elements = answer["flow"], answer["elements"]
    reasons = sorted(
        set(figures["refusedEntries"]).union(*(e.get("refused", {}) for e in elements.values()))
    )
    columns = (*FLOW_FIGURES, *SHARED_FIGURES, *ELEMENT_FIGURES)
    header = ["Row", "Element", "Name", *columns, *(f"refused.{r}" for r in reasons)]
    rows: list[list[Cell]] = [
        [
            "flow",
            None,
            name,
            *(figures.get(c) for c in columns),
            *(figures["refusedEntries"].get(r, 0) for r in reasons),
        ]
    ]
    for element, values in elements.items():
        refused = values.get("refused", {})
        rows.append(
            [
                "element",
                element,
                values.get("name"),
                *(values.get(c) for c in columns),
                *(refused.get(r, 0) for r in reasons),
            ]
        )
    return header, iter(rows)


# --- channels: each channel's messages -------------------------------------------------

CHANNEL_FIGURES = ("sent", "delivered", "failed", "seen", "clicked", "parts", "cost")


def channels_table(conn: Connection, account_id: int, request: ReportRequest) -> Table:
    answer = flow_performance(conn, account_id, _flow_id(request), request.version)
    rows: list[list[Cell]] = [
        [channel, *(figures.get(f, 0) for f in CHANNEL_FIGURES)]
        for channel, figures in answer["channels"].items()
    ]
    return ["Channel", *CHANNEL_FIGURES], iter(rows)


# --- participants: one row a participation, streamed -----------------------------------

PARTICIPANT_HEADER = [
    "Person ID",
    "Version",
    "Status",
    "Exit Reason",
    "Entered At",
    "Exited At",
    "Goal Met",
    "Goal Met At",
    "Goal Value",
]


def _participants(rows: Iterator[tuple[Any, ...]]) -> Iterator[Sequence[Cell]]:
    epoch, micros = EPOCH, timedelta(microseconds=1)
    for external_id, version, phase, reason, entered, exited, local in rows:
        met = local.get(GOAL)
        yield (
            external_id,
            version,
            phase,
            reason,
            epoch + entered * micros,
            None if exited is None else epoch + exited * micros,
            met is not None,
            parse_instant(met) if isinstance(met, str) else None,
            local.get(GOAL_VALUE),
        )


def participants_table(conn: Connection, account_id: int, request: ReportRequest) -> Table:
    """The flow's participations in id order (of a version, or all), streamed."""
    flows.read_flow(conn, account_id, _flow_id(request))  # deleted since: the report fails
    rows = participation_rows(conn, account_id, _flow_id(request), request.version)
    return list(PARTICIPANT_HEADER), _participants(rows)


# --- mep: one row per person and month, the first entry's (store/mep.py) ---------------


def _mep(rows: Iterator[tuple[Any, ...]]) -> Iterator[Sequence[Cell]]:
    for person, engaged_at, billed_at, flow_id, name in rows:
        yield (person, parse_instant(engaged_at), parse_instant(billed_at), flow_id, name)


def mep_table(conn: Connection, account_id: int, request: ReportRequest) -> Table:
    """The month's engaged persons of the accounts asked for (checked, and the month
    too, when the report was asked for), with exactly the guide's columns."""
    month = parse_month(request.month or "")
    assert month is not None
    assert request.accounts is not None
    rows = mep.report_rows(conn, request.accounts, month)
    return list(mep.REPORT_COLUMNS), _mep(rows)


# --- imports: the import performance table of an sftp flow (store/sftp.py) -------------


def imports_table(conn: Connection, account_id: int, request: ReportRequest) -> Table:
    """The flow's SFTP imports, newest first, as `GET /flows/{id}/imports` lists them."""
    flows.read_flow(conn, account_id, _flow_id(request))  # deleted since: the report fails
    header, rows = sftp.import_rows(conn, account_id, _flow_id(request))

    def typed() -> Iterator[Sequence[Cell]]:
        for row in rows:
            yield [
                parse_instant(v) if h == "fetchedAt" and v else v
                for h, v in zip(header, row, strict=True)
            ]

    return header, typed()


SOURCES: dict[str, Source] = {
    "flow": flow_table,
    "channels": channels_table,
    "participants": participants_table,
    "mep": mep_table,
    "imports": imports_table,
}
SHEETS = {
    "flow": "Flow",
    "channels": "Channels",
    "participants": "Participants",
    "mep": "MEP",
    "imports": "Imports",
}
