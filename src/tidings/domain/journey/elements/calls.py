"""Sends that wait for their outcome: voice calls and failover.

Both emit `SendMessage(wants_result=True)` and hold the person until the shell reports
a `ResultArrived` for the element. Failover tries its attempts in order: a `failed`
report, or no report within `waitForDelivery`, moves to the next attempt; `delivered`
(or `seen`/`clicked`, which imply it) takes the `delivered` outcome; no attempt left
takes `failed`. A voice call takes the reported outcome; collected digits go to the
`collect` variable. If no result comes within `RESULT_GRACE` (a lost report), the call
counts as not answered, so nobody waits for ever.

Both keep the flow's send window (`journey/windows.py`): a call or an attempt due outside
it waits for the next opening (or, when the window drops, the call is not answered and
the failover fails).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from tidings.domain.flows.calls import Failover, VoiceCall
from tidings.domain.journey.compiler import Compiler
from tidings.domain.journey.elements.base import Handler, builds, duration
from tidings.domain.journey.elements.content import VoiceContent, content_of
from tidings.domain.journey.elements.messages import deliver
from tidings.domain.journey.run import Go, Hold, Move, Run
from tidings.domain.journey.types import ResultArrived
from tidings.domain.journey.windows import DROP, deferred, gate

RESULT_GRACE: Final = timedelta(hours=1)
DEFAULT_DELIVERY_WAIT: Final = timedelta(hours=1)
DELIVERED: Final = frozenset({"delivered", "seen", "clicked"})


@builds(VoiceCall)
class Voice(Handler):
    """Call the person; branch on answered, notAnswered or collected."""

    def __init__(self, element: VoiceCall, compiler: Compiler) -> None:
        super().__init__(element)
        self.content = VoiceContent(element, compiler)
        self.collect = element.collect.variable if element.collect is not None else None
        self.outcomes = element.OUTCOMES

    def enter(self, run: Run) -> Move:
        if run.program.send_window is not None:
            held = gate(run, self.id)
            if held is DROP:
                return Go("notAnswered")
            if held is not None:
                return held
        if not deliver(run, self.id, self.content, wants_result=True):
            return Go("notAnswered")
        return Hold(wake_at=run.now + RESULT_GRACE)

    def on_timer(self, run: Run) -> Move:
        if deferred(run):
            return self.enter(run)
        run.trace(self.id, "outcome", "notAnswered: no result came back")
        return Go("notAnswered")

    def on_result(self, run: Run, result: ResultArrived) -> Move | None:
        outcome = result.outcome
        if outcome not in self.outcomes:
            run.trace(self.id, "result ignored", f"unknown outcome {outcome!r}")
            return None
        if outcome == "collected":
            if self.collect is not None:
                run.set_variable(self.collect, result.data.get("digits"), self.id)
            if self.target("collected") is None:
                outcome = "answered"  # no branch for digits: they answered all the same
        run.trace(self.id, "outcome", outcome)
        return Go(outcome)


@builds(Failover)
class FailoverHandler(Handler):
    """Try channels in order until one message is delivered."""

    def __init__(self, element: Failover, compiler: Compiler) -> None:
        super().__init__(element)
        self.attempts = tuple(
            content_of(attempt, compiler, f"{element.id}.attempts.{i}")
            for i, attempt in enumerate(element.attempts)
        )
        wait = duration(compiler, element.wait_for_delivery, f"{element.id}.waitForDelivery")
        self.wait = wait if wait is not None and wait > timedelta(0) else DEFAULT_DELIVERY_WAIT

    def enter(self, run: Run) -> Move:
        return self._attempt(run, 0)

    def _attempt(self, run: Run, first: int) -> Move:
        for i in range(first, len(self.attempts)):
            if run.program.send_window is not None:
                held = gate(run, self.id, {"attempt": i})
                if held is DROP:
                    run.trace(self.id, "outcome", "failed: outside the send window")
                    return Go("failed")
                if held is not None:
                    return held
            if deliver(run, self.id, self.attempts[i], wants_result=True, attempt=i):
                return Hold(wake_at=run.now + self.wait, local={"attempt": i})
        run.trace(self.id, "outcome", "failed: no channel left to try")
        return Go("failed")

    def _current(self, run: Run) -> int:
        attempt = run.state.local.get("attempt")
        return attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 0

    def on_timer(self, run: Run) -> Move:
        current = self._current(run)
        if deferred(run):
            return self._attempt(run, current)
        channel = self.attempts[current].channel if current < len(self.attempts) else "?"
        run.trace(self.id, "attempt failed", f"{channel}: no delivery report in time")
        return self._attempt(run, current + 1)

    def on_result(self, run: Run, result: ResultArrived) -> Move | None:
        current = self._current(run)
        reported = result.data.get("attempt")
        if isinstance(reported, int) and reported != current:
            return None  # a late report of an earlier attempt
        if deferred(run) and result.outcome not in DELIVERED:
            # Attempt `current` waits for the send window: nothing of it went out, so this
            # is a late failure of an earlier attempt (a late delivery still counts).
            return None
        channel = self.attempts[current].channel if current < len(self.attempts) else "?"
        if result.outcome in DELIVERED:
            run.trace(self.id, "outcome", f"delivered: {channel}")
            return Go("delivered")
        if result.outcome == "failed":
            reason = result.data.get("reason")
            why = f"{channel}: {reason}" if isinstance(reason, str) and reason else channel
            run.trace(self.id, "attempt failed", why)
            return self._attempt(run, current + 1)
        return None
