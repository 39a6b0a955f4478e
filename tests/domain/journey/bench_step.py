"""Cost per `advance` of the step function, on DESIGN.md's cart-abandonment flow.

    .venv/bin/python -m tests.domain.journey.bench_step

The figures go in the docstring of `tidings/domain/journey/step.py`.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.domain.journey.helpers import CART, NOW, compiled, fresh
from tidings.domain.journey import Entered, EventArrived, TimerDue, advance


def per_call(fn: Callable[[], Any], number: int = 20_000) -> float:
    """Best of five runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    program = compiled(CART)
    start = fresh()
    entered = Entered({}, {"cartValue": 80})
    waiting = advance(program, start, entered, NOW).state
    later = NOW + timedelta(days=1)
    bought = EventArrived("PurchaseFinished", {"amount": 80}, NOW)
    other = EventArrived("PageViewed", {}, NOW)
    cases: list[tuple[str, Callable[[], Any], int]] = [
        ("Entered -> SMS -> wait_for_event", lambda: advance(program, start, entered, NOW), 0),
        ("TimerDue -> email -> exit", lambda: advance(program, waiting, TimerDue(), later), 0),
        ("EventArrived -> update_profile", lambda: advance(program, waiting, bought, NOW), 0),
        ("EventArrived, not awaited", lambda: advance(program, waiting, other, NOW), 0),
        ("compile_program", lambda: compiled(CART), 500),
    ]
    for name, fn, number in cases:
        print(f"{name:34} {per_call(fn, number or 20_000):7.1f} µs")


if __name__ == "__main__":
    main()
