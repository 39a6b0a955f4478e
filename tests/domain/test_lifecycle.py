"""The lifecycle matrix: every status against every action."""

from __future__ import annotations

import pytest

from tidings.domain.errors import IllegalTransition
from tidings.domain.lifecycle import Action, Status, flow_status, move

S, A = Status, Action
ALLOWED = {
    (A.launch, S.draft): S.active,
    (A.pause, S.active): S.paused,
    (A.resume, S.paused): S.active,
    (A.cancel, S.scheduled): S.canceled,
    (A.cancel, S.active): S.canceled,
    (A.cancel, S.paused): S.canceled,
    (A.cancel, S.finishing): S.canceled,
    (A.cancel, S.failed): S.canceled,  # lets its held people go
    (A.stop, S.active): S.finishing,
    (A.stop, S.paused): S.finishing,
    (A.edit, S.draft): S.draft,
    (A.delete, S.draft): S.draft,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_against_every_action(action: Action, status: Status) -> None:
    expected = ALLOWED.get((action, status))
    if expected is not None:
        assert move(action, status) is expected
    else:
        with pytest.raises(IllegalTransition) as refused:
            move(action, status)
        assert refused.value.message.startswith(f"cannot {action.value} the flow: ")
        assert len(refused.value.message) > len(f"cannot {action.value} the flow: ") + 5


def test_refusals_point_the_way() -> None:
    with pytest.raises(IllegalTransition, match="create a new version"):
        move(A.edit, S.active)
    with pytest.raises(IllegalTransition, match="delete it instead"):
        move(A.cancel, S.draft)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([], S.draft),
        ([S.draft], S.draft),
        ([S.active, S.draft], S.active),
        ([S.finishing, S.active], S.active),
        ([S.finishing, S.paused], S.paused),
        ([S.finished, S.finishing], S.finishing),
        ([S.finished, S.canceled], S.canceled),
        ([S.finished, S.draft], S.finished),
        ([S.scheduled], S.scheduled),
    ],
)
def test_flow_status_from_versions(versions: list[Status], expected: Status) -> None:
    assert flow_status(versions) is expected
