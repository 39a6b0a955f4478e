"""The vocabulary of the step function: a participation's state, the stimuli that move
it (past tense) and the effects it asks the shell to carry out (imperative).

    advance(program, state, stimulus, now) -> Step(state', effects)

Everything here is a frozen value; `now` is an aware UTC datetime passed in. The values
made for every person and step (person, state, counts, trace lines, the step) are named
tuples: a frozen dataclass sets each field through `object.__setattr__`, and those
constructors were a tenth of the engine's time per person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

NOTHING: Mapping[str, Any] = MappingProxyType({})  # an empty mapping nobody can change


class Phase(StrEnum):
    """Where a participation stands between steps."""

    running = "running"  # has work to do now (just entered, or a stimulus arrived)
    waiting = "waiting"  # until `wake_at`, and/or for an event or a result
    exited = "exited"  # done; kept for history, frequency caps and reports
    held = "held"  # their version failed: kept where they were, moved by nothing


class Person(NamedTuple):
    """The profile snapshot a step reads (and `UpdateProfile` changes for later steps)."""

    id: int
    external_id: str | None
    attributes: Mapping[str, Any]  # standard (firstName ...) and custom, by API name
    tags: frozenset[str] = frozenset()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    timezone: str | None = None
    unsubscribed: frozenset[str] = frozenset()  # channels the person opted out of


class State(NamedTuple):
    participation_id: int
    flow_id: int
    version: int
    person: Person
    phase: Phase
    element: str | None  # the element the person is at (None before the first one)
    variables: Mapping[str, Any]
    entry_event: Mapping[str, Any] | None  # the entry event's properties, kept throughout
    entered_at: datetime
    wake_at: datetime | None = None
    waiting_for: str | None = None  # event name awaited by wait_for_event
    waiting_element: str | None = None  # send element whose message events are awaited
    message_events: frozenset[tuple[str, str]] = frozenset()  # (element id, kind) seen
    local: Mapping[str, Any] = NOTHING  # element-local progress
    exit_reason: str | None = None


# --- stimuli (what happened) -------------------------------------------------------------


@dataclass(frozen=True)
class Entered:
    variables: Mapping[str, Any]  # from the Flow API or an entry's `assign`, unchecked
    event: Mapping[str, Any] | None = None  # the entry event's properties
    hops: int = 0  # add_to_flow steps in a row that brought the person here (see AddToFlow)


@dataclass(frozen=True)
class TimerDue:
    pass


@dataclass(frozen=True)
class EventArrived:
    name: str
    properties: Mapping[str, Any]
    time: datetime


@dataclass(frozen=True)
class ResultArrived:
    """The outcome of something the flow asked for: an API call, a send, a voice call."""

    element: str
    outcome: str  # e.g. success/failure, delivered/failed, answered/notAnswered/collected
    data: Mapping[str, Any] = field(default_factory=dict)  # response.x, collected digits


@dataclass(frozen=True)
class Canceled:
    reason: str = "canceled"


Stimulus = Entered | TimerDue | EventArrived | ResultArrived | Canceled


# --- effects (what to do) ----------------------------------------------------------------


@dataclass(frozen=True)
class SendMessage:
    element: str
    channel: str  # sms, email, whatsapp, viber, voice
    to: str
    sender: str
    content: Mapping[str, Any]  # text | subject+html(+text) | template | say ...
    parts: int = 1  # SMS parts (GSM-7 / UCS-2), 1 for other channels
    wants_result: bool = False  # failover and voice_call wait for the outcome
    # Failover: which attempt (0-based) this is. Its ResultArrived may carry it back as
    # data["attempt"], so a late report of an earlier attempt is recognised and ignored.
    attempt: int | None = None
    connection: int | None = None  # the element's own connection; None: the default route
    track_links: bool = False  # an SMS, WhatsApp or Viber text whose links are tracked


@dataclass(frozen=True)
class CallApi:
    element: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    timeout_seconds: float
    retries: int


@dataclass(frozen=True)
class UpdateProfile:
    set: Mapping[str, Any]
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddToFlow:
    element: str
    flow_id: int
    variables: Mapping[str, Any]
    hops: int = 1  # the chain's length on arrival: the target enters with Entered(hops=)


@dataclass(frozen=True)
class Notify:
    """A message to someone inside the business (not to the person): no message events,
    and it counts as sent only on its element, not in the flow's `messagesSent`."""

    element: str
    channel: str
    to: str
    sender: str
    content: Mapping[str, Any]
    parts: int = 1


@dataclass(frozen=True)
class LookupCatalog:
    """Find the item with `key` in the account's catalog named `catalog`; the shell
    answers with `ResultArrived(element, "found", item)` or `"notFound"`."""

    element: str
    catalog: str
    key: str


class Count(NamedTuple):
    """A metric increment, committed with the step: `element` None is the flow level."""

    name: str
    element: str | None = None
    by: int = 1


class Trace(NamedTuple):
    """One line of the person's journey: which element, what happened, and why."""

    element: str | None
    what: str
    why: str | None = None


Effect = SendMessage | CallApi | UpdateProfile | AddToFlow | Notify | LookupCatalog | Count | Trace


class Step(NamedTuple):
    state: State
    effects: tuple[Effect, ...]
