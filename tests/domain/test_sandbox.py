"""The sandbox provider's rules: `decide` per message, `fixed_outcome` for a batch."""

from __future__ import annotations

import itertools
from datetime import timedelta

from tidings.domain.sandbox import SandboxSettings, decide, fixed_outcome

SHARES = (0.0, 0.3, 1.0)


def test_a_share_between_0_and_1_reports_about_that_share() -> None:
    settings = SandboxSettings(delivered=0.3, seen=0.5, clicked=0.5, delay="PT5M")
    outcomes = [decide(i, settings) for i in range(4000)]
    delivered = sum(o.reports[0] == "delivered" for o in outcomes)
    assert 0.27 < delivered / 4000 < 0.33
    seen = sum("seen" in o.reports for o in outcomes)
    assert 0.45 < seen / delivered < 0.55
    assert all(o.delay == timedelta(minutes=5) for o in outcomes)
    assert decide(17, settings) == decide(17, settings)  # stable per message


def test_a_fixed_outcome_is_every_messages_outcome_and_only_then_given() -> None:
    for delivered, seen, clicked in itertools.product(SHARES, SHARES, SHARES):
        settings = SandboxSettings(delivered=delivered, seen=seen, clicked=clicked)
        fixed = fixed_outcome(settings)
        outcomes = {decide(i, settings) for i in range(300)}
        if fixed is None:
            assert len(outcomes) > 1, settings  # they do differ
        else:
            assert outcomes == {fixed}, settings
