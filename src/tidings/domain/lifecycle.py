"""Flow and version statuses, and which action may move which status where.

Statuses are the guide's: draft, scheduled, active, paused, finishing, finished, canceled,
failed. Every transition is explicit; an illegal one raises `IllegalTransition` with a
sentence a marketer understands.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tidings.domain.errors import IllegalTransition


class Status(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    active = "active"
    paused = "paused"
    finishing = "finishing"
    finished = "finished"
    canceled = "canceled"
    failed = "failed"


class Action(StrEnum):
    launch = "launch"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    stop = "stop"
    edit = "edit"
    delete = "delete"


RUNNING = frozenset({Status.scheduled, Status.active, Status.paused, Status.finishing})
ENDED = frozenset({Status.finished, Status.canceled, Status.failed})

# action -> {from status: to status}
_MOVES: dict[Action, dict[Status, Status]] = {
    Action.launch: {Status.draft: Status.active},
    Action.pause: {Status.active: Status.paused},
    Action.resume: {Status.paused: Status.active},
    Action.cancel: {
        Status.scheduled: Status.canceled,
        Status.active: Status.canceled,
        Status.paused: Status.canceled,
        Status.finishing: Status.canceled,
        # a failed version's people are held where they were; canceling lets them go
        Status.failed: Status.canceled,
    },
    Action.stop: {Status.active: Status.finishing, Status.paused: Status.finishing},
    Action.edit: {Status.draft: Status.draft},
    Action.delete: {Status.draft: Status.draft},
}

_WHY: dict[tuple[Action, Status], str] = {
    (Action.launch, Status.scheduled): "it is already scheduled; cancel it to change that",
    (Action.launch, Status.active): "it is already active; create a new version to change it",
    (Action.launch, Status.paused): "it is paused; resume it instead",
    (Action.pause, Status.draft): "a draft is not running; launch it first",
    (Action.pause, Status.scheduled): "it has not started yet; cancel it or change its schedule",
    (Action.pause, Status.paused): "it is already paused",
    (Action.resume, Status.active): "it is not paused",
    (Action.cancel, Status.draft): "a draft is not running; delete it instead",
    (Action.stop, Status.draft): "a draft is not running; delete it instead",
    (Action.stop, Status.scheduled): "it has not started yet; cancel it instead",
    (Action.edit, Status.active): "a launched version cannot be changed: create a new version "
    "(goal, schedule and audience can be edited in place)",
}


def allows(action: Action, current: Status) -> bool:
    """Whether `action` moves a version in status `current` (`move` would not raise)."""
    return current in _MOVES[action]


def move(action: Action, current: Status, *, what: str = "the flow") -> Status:
    """The status after `action`, or IllegalTransition saying why not."""
    target = _MOVES[action].get(current)
    if target is not None:
        return target
    reason = _WHY.get((action, current))
    if reason is None:
        if current in ENDED:
            reason = f"it is {current.value}"
        elif action in (Action.edit, Action.delete):
            reason = f"only drafts can be {'changed' if action is Action.edit else 'deleted'}"
        else:
            reason = f"it is {current.value}"
    raise IllegalTransition(f"cannot {action.value} {what}: {reason}")


def flow_status(versions: Iterable[Status]) -> Status:
    """A flow's status on the All Communications list, from its versions' (oldest first).

    A running version wins (active over paused over scheduled over finishing); otherwise
    the newest launched version's end state; a flow never launched is a draft.
    """
    statuses = list(versions)
    for status in (Status.active, Status.paused, Status.scheduled, Status.finishing):
        if status in statuses:
            return status
    launched = [s for s in statuses if s is not Status.draft]
    return launched[-1] if launched else Status.draft
